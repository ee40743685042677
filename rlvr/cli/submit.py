"""`rlvr submit ray|slurm -- <overrides>` and `rlvr jobs list|status|logs|stop`."""

from __future__ import annotations

import sys


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser("submit", help="submit a training run to a Ray cluster or to Slurm")
    sub = p.add_subparsers(dest="backend", required=True)

    q = sub.add_parser(
        "ray", help="through Ray's Jobs API: rlvr submit ray --address http://HEAD:8265 -- k=v ..."
    )
    q.add_argument(
        "--address", help="the head's dashboard, http://HEAD:8265 (default: $RAY_API_SERVER_ADDRESS)"
    )
    q.add_argument("--working-dir", help="folder uploaded as the job's working directory (default: cwd)")
    q.add_argument("--follow", action="store_true", help="stream the job's log until it ends")
    q.add_argument("overrides", nargs="*", help="Hydra overrides for `rlvr train`")
    q.set_defaults(func=_submit_ray)

    q = sub.add_parser("slurm", help="sbatch a Ray-on-Slurm job: rlvr submit slurm --nodes 2 -- k=v ...")
    q.add_argument("--nodes", type=int, default=1)
    q.add_argument("--gpus-per-node", type=int, default=0)
    q.add_argument("--cpus-per-task", type=int, default=None, help="CPUs per node (default: Slurm's)")
    q.add_argument("--partition")
    q.add_argument("--time", help="time limit, e.g. 24:00:00")
    q.add_argument("--account")
    q.add_argument(
        "--requeue", action="store_true", help="after a SIGTERM checkpoint, requeue; the rerun resumes"
    )
    q.add_argument("--dry-run", action="store_true", help="print the job script, submit nothing")
    q.add_argument("overrides", nargs="*", help="Hydra overrides for `rlvr train`")
    q.set_defaults(func=_submit_slurm)

    p = subparsers.add_parser("jobs", help="jobs submitted with `rlvr submit`: list, status, logs, stop")
    sub = p.add_subparsers(dest="jobs_command", required=True)
    for name, help_ in [
        ("list", "jobs recorded here (or all jobs of --address / Slurm's queue with --backend)"),
        ("status", "a job's state"),
        ("logs", "a job's log"),
        ("stop", "stop a job (the trainer checkpoints on SIGTERM)"),
    ]:
        q = sub.add_parser(name, help=help_)
        if name != "list":
            q.add_argument("job_id")
        q.add_argument("--backend", choices=["ray", "slurm"], help="needed for jobs not submitted from here")
        q.add_argument("--address", help="Ray dashboard address, for Ray jobs not submitted from here")
        if name == "logs":
            q.add_argument("--follow", action="store_true")
        q.set_defaults(func=_jobs)


def _prepare(overrides: list[str], extra: list[str]):
    from rlvr.cluster.submission import SubmitError, prepare

    try:
        return prepare(overrides, extra=extra)
    except SubmitError as e:
        print(f"rlvr submit: {e}", file=sys.stderr)
        return None


def _submit_ray(args, rest: list[str]) -> int:
    from pathlib import Path

    from rlvr.cluster import ray_jobs

    # Inside a Ray job, RAY_ADDRESS points at the cluster: `cluster=ray` (address auto) joins it.
    sub = _prepare(args.overrides, ["cluster=ray"])
    if sub is None:
        return 2
    job_id = ray_jobs.submit(
        sub, args.address, working_dir=Path(args.working_dir) if args.working_dir else None
    )
    print(f"submitted Ray job {job_id}\nrun dir: {sub.run_dir}\nlogs: rlvr jobs logs {job_id}")
    if not args.follow:
        return 0
    final = ray_jobs.follow(job_id, args.address)
    print(f"job {job_id}: {final}")
    return 0 if final == "SUCCEEDED" else 1


def _submit_slurm(args, rest: list[str]) -> int:
    from rlvr.cluster import slurm
    from rlvr.cluster.submission import SubmitError

    sub = _prepare(args.overrides, [])
    if sub is None:
        return 2
    resources = slurm.Resources(
        nodes=args.nodes,
        gpus_per_node=args.gpus_per_node,
        cpus_per_task=args.cpus_per_task,
        partition=args.partition,
        time=args.time,
        account=args.account,
        requeue=args.requeue,
    )
    try:
        script = slurm.render(sub, resources)
    except SubmitError as e:
        print(f"rlvr submit: {e}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(script, end="")
        return 0
    try:
        job = slurm.submit(sub, script)
    except (SubmitError, RuntimeError) as e:
        print(f"rlvr submit: {e}", file=sys.stderr)
        return 1
    print(f"submitted Slurm job {job.id}\nlog: {job.log}\nrun dir: {sub.run_dir}")
    return 0


def _jobs(args, rest: list[str]) -> int:
    from rlvr.cluster import jobs

    try:
        return jobs.run(args)
    except jobs.JobsError as e:
        print(f"rlvr jobs: {e}", file=sys.stderr)
        return 2
