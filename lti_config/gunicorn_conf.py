"""gunicorn settings shared by the Docker image, docker-compose and `make run` (``-c python:lti_config.gunicorn_conf``).

The access log leaves out query strings and the Referer: a launch id in ``?launch=`` (or in the
Referer of a request made from a tool page) is a bearer token for the person's session in the tool,
and a registration token rides in ``/lti/register/?registration_token=`` (docs/security.md, "Launch ids").
"""

import multiprocessing
import os

# Workers sized for the cores: gunicorn's documented rule of thumb, (2 x cores) + 1 sync workers, so a
# worker waiting on PostgreSQL, Redis or the platform leaves the cores to the others. WEB_CONCURRENCY
# (gunicorn's own variable) or --workers on the command line overrides it. On 2 cores: 5 workers
# (bench/burst.py serves both the tool and its stock baseline with this file; docs/benchmarks.md, "Burst").
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count() + 1)

accesslog = "-"
# gunicorn's default is '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"': %(r)s is the full
# request line and %(f)s the Referer. %(U)s is the path alone.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'

# gunicorn 25.1+ opens a control socket for `gunicornc`, by default in $XDG_RUNTIME_DIR or ~/.gunicorn/ --
# a file in the user's home directory that nothing here uses (restarts go through the process manager,
# docs/production.md). Off.
control_socket_disable = True


# Prometheus counters kept in memory by each web process (launches by outcome, lms_tool/core/metrics.py)
# are summed across gunicorn's workers through files in PROMETHEUS_MULTIPROC_DIR: start from an empty
# folder, and forget a worker's live gauges when it exits (prometheus-client's multiprocess mode).
def on_starting(server: object) -> None:
    import os
    import shutil

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server: object, worker: object) -> None:
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
