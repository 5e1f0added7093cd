"""The sweep through a real Celery worker and a real Redis broker.

A worker is another process, so the database must be a server both can reach: the SecantusDB of
the run (`OGP_TEST_DB=secantus`, env `OGP_TEST_DB_URL`) or, on the mongomock run, a SecantusDB
started here. Needs `redis-server` on PATH (CI installs Debian's package): without it the test
fails with a clear message, it does not skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import mongoengine
import pytest
from udata import settings
from udata.core.dataset.factories import DatasetFactory

from tests import OgpDBTestCase
from tests.servers import start_redis, start_secantus, stop
from udata_ogp.embedded import server_settings
from udata_ogp.factories import CommitmentLinkFactory
from udata_ogp.models import CommitmentLink
from udata_ogp.tasks import check_links

pytestmark = pytest.mark.redis

SECRET = "ogp-worker-test-secret"


@pytest.fixture(scope="module")
def worker_env(tmp_path_factory):
    """Redis, a wire-protocol database and a Celery worker on both; all stopped at the end."""
    started: list[subprocess.Popen] = []
    worker_log = tmp_path_factory.mktemp("worker") / "worker.log"
    try:
        redis, redis_url = start_redis()
        started.append(redis)
        db_url = os.environ.get("OGP_TEST_DB_URL")
        if not db_url:
            secantus, db_url = start_secantus("udata-ogp-worker")
            started.append(secantus)
        cfg = tmp_path_factory.mktemp("cfg") / "udata.cfg"
        cfg.write_text(
            "\n".join(
                f"{key} = {value!r}"
                for key, value in {
                    "MONGODB_HOST": db_url,
                    "CELERY_BROKER_URL": redis_url,
                    "CELERY_RESULT_BACKEND": redis_url,
                    "SECRET_KEY": SECRET,
                    "API_TOKEN_SECRET": SECRET,
                    "SECURITY_PASSWORD_SALT": SECRET,
                    "URLS_RESOLVE_HOSTNAME": False,
                }.items()
            )
        )
        env = {
            **os.environ,
            "UDATA_SETTINGS": str(cfg),
            "C_FORCE_ROOT": "1",
            # The worker must not inherit the test run's backend selection.
            "OGP_TEST_DB": "",
        }
        env.pop("OGP_TEST_DB_URL", None)
        log_file = open(worker_log, "w")  # noqa: SIM115 (closed in finally)
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "udata.worker",
                "worker",
                "-Q",
                "default,high,low",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
            cwd=str(cfg.parent),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        started.append(worker)
        yield {"redis_url": redis_url, "db_url": db_url, "worker": worker, "log": worker_log}
    finally:
        for proc in reversed(started):
            stop(proc)
        # Later tests connect to their own backend again.
        mongoengine.disconnect_all()


def _forget_celery_connections() -> None:
    """udata's Celery app is a process-wide singleton that caches its result backend and broker
    pool on first use: an earlier test may have fixed them to the default Redis URL."""
    from udata.tasks import celery

    celery._pool = None
    celery.amqp._producer_pool = None
    celery._backend_cache = None
    celery._local.__dict__.pop("backend", None)


class WorkerTest(OgpDBTestCase):
    @pytest.fixture(autouse=True)
    def _fresh_celery(self, app):
        _forget_celery_connections()
        yield
        _forget_celery_connections()

    def get_settings(self, request):
        env = request.getfixturevalue("worker_env")
        from tests.conftest import _strip_unsupported_indexes

        _strip_unsupported_indexes()
        mongoengine.disconnect_all()
        return type(
            "OgpWorkerTesting",
            (settings.Testing,),
            {
                **server_settings(env["db_url"]),
                "CELERY_BROKER_URL": env["redis_url"],
                "CELERY_RESULT_BACKEND": env["redis_url"],
                "CELERY_TASK_ALWAYS_EAGER": False,
                "CELERY_TASK_EAGER_PROPAGATES": False,
            },
        )

    def test_sweep_runs_in_a_worker(self, worker_env):
        archived = DatasetFactory(nb_resources=1, archived=datetime.now(UTC))
        fine = DatasetFactory(nb_resources=1)
        stale_link = CommitmentLinkFactory(target=archived)
        ok_link = CommitmentLinkFactory(target=fine)

        result = check_links.apply_async()
        try:
            summary = result.get(timeout=90)
        except Exception as exc:
            log = Path(worker_env["log"]).read_text()[-3000:]
            state = worker_env["worker"].poll()
            pytest.fail(f"{exc!r} from the worker (exit code {state}); its log:\n{log}")
        assert summary["links"] == 2
        stale_link.reload()
        assert (stale_link.health, stale_link.reasons) == ("stale", ["archived"])
        assert CommitmentLink.objects.get(id=ok_link.id).health == "ok"
        # The receiver for dataset updates queues a task the worker runs too.
        fine.deleted = datetime.now(UTC)
        fine.save()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if CommitmentLink.objects.get(id=ok_link.id).health == "broken":
                break
            time.sleep(0.5)
        assert CommitmentLink.objects.get(id=ok_link.id).reasons == ["deleted"]
