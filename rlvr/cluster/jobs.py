"""`rlvr jobs list|status|logs|stop` over both back-ends.

A job id is looked up in the local records (`records.py`) for its back-end and address; ids not
recorded need --backend (and --address for Ray). Slurm job ids are numbers, Ray's are not, so the
back-end of an unrecorded id is guessed from its form when --backend is not given.
"""

from __future__ import annotations

import sys

from rlvr.cluster import records


class JobsError(RuntimeError):
    pass


def _locate(args) -> tuple[str, str | None]:
    rec = records.find(args.job_id)
    backend = args.backend or (rec or {}).get("backend") or ("slurm" if args.job_id.isdigit() else "ray")
    address = args.address or ((rec or {}).get("address") if rec and rec["backend"] == "ray" else None)
    return backend, address


def run(args) -> int:
    if args.jobs_command == "list":
        return _list(args)
    backend, address = _locate(args)
    if backend == "ray":
        from rlvr.cluster import ray_jobs as be
    else:
        from rlvr.cluster import slurm as be
    try:
        if args.jobs_command == "status":
            print(be.status(args.job_id, address))
        elif args.jobs_command == "logs":
            if args.follow:
                print(f"final status: {be.follow(args.job_id, address)}")
            else:
                sys.stdout.write(be.logs(args.job_id, address))
        elif args.jobs_command == "stop":
            be.stop(args.job_id, address)
            print(f"stop requested for {backend} job {args.job_id}")
    except (RuntimeError, ValueError, OSError) as e:
        raise JobsError(f"{backend} job {args.job_id}: {e}") from e
    return 0


def _list(args) -> int:
    rows: list[dict] = []
    if args.backend == "ray":
        from rlvr.cluster import ray_jobs

        rows = ray_jobs.list_jobs(args.address)
    elif args.backend == "slurm":
        from rlvr.cluster import slurm

        rows = slurm.list_jobs()
    else:
        for rec in records.all_records():
            row = {"id": rec["id"], "backend": rec["backend"], "run_dir": rec.get("run_dir", "")}
            try:
                if rec["backend"] == "ray":
                    from rlvr.cluster import ray_jobs

                    row["status"] = ray_jobs.status(rec["id"], rec.get("address"))
                else:
                    from rlvr.cluster import slurm

                    row["status"] = slurm.status(rec["id"], None)
            except Exception as e:  # an unreachable cluster must not hide the other jobs
                row["status"] = f"unknown ({type(e).__name__})"
            rows.append(row)
    for row in rows:
        print(
            f"{row['id']:<44} {row.get('backend', args.backend or ''):<6} {row['status']:<12} {row.get('run_dir', '')}"
        )
    return 0
