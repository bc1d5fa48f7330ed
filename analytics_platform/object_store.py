"""Files that are not tables on the shared mode's object store: dashboards and exports.

The warehouse's own data goes through DuckDB (httpfs); MLflow writes its artifacts with its own
boto3 client on the same settings (``settings.mlflow_store``). This is the one boto3 client of the
platform's code, built from ``SharedWarehouse`` (endpoint, region, credentials from the
environment). A PUT replaces an object whole: a reader gets the previous version or the new one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from analytics_platform.settings import SharedWarehouse


def client(shared: SharedWarehouse):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=shared.s3_endpoint_url, region_name=shared.s3_region,
        aws_access_key_id=shared.s3_key_id, aws_secret_access_key=shared.s3_secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}, connect_timeout=5),
    )


def split(url: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key``."""
    parts = urlsplit(url)
    return parts.netloc, parts.path.lstrip("/")


def put(shared: SharedWarehouse, url: str, body: bytes, content_type: str = "application/octet-stream") -> int:
    """Write ``body`` to ``url``; its size."""
    bucket, key = split(url)
    client(shared).put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    return len(body)


def size(shared: SharedWarehouse, url: str) -> int:
    bucket, key = split(url)
    return int(client(shared).head_object(Bucket=bucket, Key=key)["ContentLength"])
