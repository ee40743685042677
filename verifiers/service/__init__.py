"""Verifiers as services, with the same `.verify_batch` as a local verifier:

- `http_app.create_app` / `http_app.serve`: a FastAPI + uvicorn server (`rlvr verifier serve NAME`).
- `http_client.HttpVerifier`: the httpx client a trainer points at that server.
- `ray_pool.RayVerifierPool`: verifier actors inside a Ray cluster.
Each module imports its heavy dependencies (fastapi, httpx, ray) itself; import the one you use.
"""
