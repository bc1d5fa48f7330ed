"""``python -m bench.worker TASK '{json args}'``: run one task, print ``RESULT {json}`` last."""

from __future__ import annotations

import json
import sys
import traceback

from bench.worker import build, build_floor, ingest, ingest_floor, refresh

TASKS = {"ingest": ingest.measure, "ingest_floor": ingest_floor.measure, "build": build.measure,
         "build_floor": build_floor.measure, "refresh": refresh.measure}


def main(argv: list[str]) -> int:
    task, args = argv[0], json.loads(argv[1])
    try:
        result = TASKS[task](args)
    except Exception:  # noqa: BLE001 - reported to the harness, which marks the stage failed
        result = {"ok": False, "error": traceback.format_exc()[-4000:]}
    print("RESULT " + json.dumps(result, default=str), flush=True)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
