"""One notebook executed with papermill, in a child process of ``colorlab run``.

The runner starts ``python -m colorlab._execute SPEC.json`` in a session of its own. This process
writes ``{"status": "ok" | "failed", "error": ...}`` to the spec's ``result`` path, and ends as soon
as the runner is gone. docs/running.md says why.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path

from .files import write_json


def execute(spec: dict) -> dict[str, str]:
    """Run the notebook the spec names; ``{"status", "error"}``."""
    import papermill as pm

    try:
        pm.execute_notebook(
            spec["input"], spec["output"], parameters=spec["parameters"], kernel_name=spec["kernel"],
            cwd=spec["cwd"], progress_bar=False, execution_timeout=spec.get("timeout"), log_output=False,
            request_save_on_cell_execute=True,
        )
        return {"status": "ok", "error": ""}
    except Exception as exc:  # noqa: BLE001 - a failed notebook is reported, not raised
        ename = getattr(exc, "ename", None)
        if ename:
            return {"status": "failed", "error": f"{ename}: {getattr(exc, 'evalue', '')}"}
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}\n" + traceback.format_exc(limit=3)}


def _watch_parent(parent: int, every: float = 1.0) -> None:
    """End this process as soon as its parent (the runner) is gone."""
    while True:
        time.sleep(every)
        if os.getppid() != parent:
            os._exit(1)


def main(argv: list[str]) -> int:
    """Execute the notebook that the spec file ``argv[1]`` names, watching the runner meanwhile."""
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    spec = json.loads(Path(argv[1]).read_text())
    write_json(spec["result"], execute(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
