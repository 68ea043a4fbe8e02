"""A small shop web service whose slow reads are cached in Redis (see README.md).

Run it with ``REDIS_URL=redis://localhost:6379/0 uvicorn shop.app:app --app-dir examples``.
"""
