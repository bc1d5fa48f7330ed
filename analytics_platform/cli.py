"""The platform's commands, run inside the project's virtualenv (see ``__main__.py``).

    up           sample data into the landing folder (if empty), dbt manifest, then `dagster dev`
                 on 127.0.0.1:3000 with sensors and automation on: data flows without a click.
    up --shared  the same in shared mode on this machine: PostgreSQL + SeaweedFS on loopback
                 (data kept in <state>/shared), Dagster's instance, MLflow and the DuckLake
                 catalog in PostgreSQL, data and reports on the object store.
    test         the test suite (pytest; extra arguments are passed on); `test --fast`: the quick lane.
    materialize  headless one-shot: ingest what is landed and materialize every asset once;
                 exits non-zero if a run step or an ERROR-severity check fails.
    generate     (re)write the sample data: `generate --scale 10 --days 120`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from analytics_platform.settings import PROJECT_ROOT, load_settings


def _dagster_home(name: str = "dagster") -> Path:
    """DAGSTER_HOME inside the git-ignored state folder, using the project's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or load_settings().state_dir / name)
    home.mkdir(parents=True, exist_ok=True)
    link = home / "dagster.yaml"
    if not link.exists():
        link.symlink_to(PROJECT_ROOT / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _ensure_sample_data(scale: float, days: int) -> None:
    landing = load_settings().landing_dir
    if landing.exists() and any(p.is_file() for p in landing.rglob("*")):
        print(f"Landing folder {landing} already has files: not generating sample data.")
        return
    _generate(scale, days, landing)


def _generate(scale: float, days: int, out: Path) -> None:
    from analytics_platform.sample_data.cli import main as generate_main

    generate_main(["--scale", str(scale), "--days", str(days), "--out", str(out)])


def _prepare_dbt() -> None:
    # In a child process: dbt's adapter leaves multiprocessing locks behind, and `up` then execs
    # `dagster dev` (the resource tracker would print a "leaked semaphore" warning at startup).
    code = "from analytics_platform.defs.transform.project import prepare_manifest; prepare_manifest()"
    subprocess.run([sys.executable, "-c", code], check=True)


def _prepare_instance() -> None:
    """Before anything runs: close the runs a crash left behind, free their pool slots, set pool limits."""
    import dagster as dg

    from analytics_platform.recovery import recover
    from analytics_platform.resources import set_pool_limits

    with dg.DagsterInstance.get() as instance:
        recover(instance, log=lambda line: print(line, flush=True))
        if limits := set_pool_limits(instance):
            print("Pool limits: " + ", ".join(f"{pool} {limit}" for pool, limit in limits.items()), flush=True)


def up(args: argparse.Namespace) -> int:
    if args.shared:
        return up_shared(args)
    _dagster_home()
    _prepare_instance()
    _ensure_sample_data(args.scale, args.days)
    _prepare_dbt()
    executable = str(Path(sys.executable).parent / "dagster")  # the venv's dagster, PATH or not
    cmd = [executable, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI: http://{args.host}:{args.port}  (Ctrl-C stops; state in {os.environ['DAGSTER_HOME']})", flush=True)
    from analytics_platform.serve import serve

    # Run from DAGSTER_HOME: dagster warns about a dagster.yaml in the working directory otherwise.
    return serve(cmd, Path(os.environ["DAGSTER_HOME"]))


def up_shared(args: argparse.Namespace) -> int:
    """`up` in shared mode: its own servers first, their environment for everything after.

    Not a second code path: the servers' variables (settings.py) switch the warehouse, Dagster's
    instance storage and MLflow; the local files left are Dagster's compute logs and the landing
    folder. The instance has a home of its own (``<state>/dagster-shared``): no mixing with the
    embedded instance's run history. The servers stop when `up` does, after `dagster dev`.
    """
    from analytics_platform.shared.servers import announce, shared_servers

    folder = load_settings().state_dir / "shared"
    with shared_servers(folder) as servers:
        os.environ.update(announce(servers, folder / "shared.env"))
        load_settings()  # a wrong variable fails here, before anything starts
        _dagster_home("dagster-shared")
        return up(argparse.Namespace(**{**vars(args), "shared": False}))


def test(rest: list[str]) -> int:
    """The whole suite (what CI runs), or with ``--fast`` the edit-test loop's lane: no browser, no
    whole-platform run (markers: pyproject.toml; which tests carry them: tests/conftest.py).
    Everything else is passed on to pytest; a later ``-m`` overrides the lane's."""
    if "--fast" in rest:
        rest = ["-m", "not slow and not browser", *(arg for arg in rest if arg != "--fast")]
    return subprocess.call([sys.executable, "-m", "pytest", *rest], cwd=PROJECT_ROOT)


def materialize(args: argparse.Namespace) -> int:
    from analytics_platform.materialize_all import run_everything

    _dagster_home()
    if args.sample_data:
        _ensure_sample_data(args.scale, args.days)
    _prepare_dbt()
    try:
        return run_everything()
    except KeyboardInterrupt:
        print("materialize stopped: its runs are marked canceled and their pool slots freed.", flush=True)
        return 130


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "test":
        return test(argv[1:])
    parser = argparse.ArgumentParser(prog="python3 -m analytics_platform", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "materialize"):
        p = sub.add_parser(name)
        p.add_argument("--scale", type=float, default=1.0, help="sample data scale (1 ≈ 1M events)")
        p.add_argument("--days", type=int, default=120)
        if name == "up":
            p.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
            p.add_argument("--port", type=int, default=3000)
            p.add_argument("--shared", action="store_true",
                           help="shared mode on this machine: PostgreSQL + SeaweedFS (loopback), Dagster and MLflow on PostgreSQL")
        else:
            p.add_argument("--no-sample-data", dest="sample_data", action="store_false")
    g = sub.add_parser("generate")
    g.add_argument("--scale", type=float, default=1.0)
    g.add_argument("--days", type=int, default=120)
    g.add_argument("--out", type=Path, default=None)
    sub.add_parser("test", help="run the test suite")
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args)
    if args.command == "materialize":
        return materialize(args)
    if args.command == "generate":
        _generate(args.scale, args.days, args.out or load_settings().landing_dir)
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
