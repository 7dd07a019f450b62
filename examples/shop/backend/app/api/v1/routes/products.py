from fastapi import APIRouter

router = APIRouter(prefix="/products", tags=["products"])


@router.get("/")
async def list_products() -> list[str]:
    """List products."""
    return ["tea", "coffee"]
