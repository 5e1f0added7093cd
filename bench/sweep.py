"""Bench of the link-health sweep on a synthetic portal, over the MongoDB wire protocol.

    python bench/sweep.py [--links 20000] [--datasets 10000] [--sample 200] [--db URL]
                          [--group-chunk N] [--replica-set] [--repeat 3]
                          [--deliverables 2000] [--compare 500] [--orgs 20] [--tags 10]

Starts an in-memory SecantusDB on a free port unless `--db` is given, builds a portal with bulk
inserts (datasets in mixed states, commitments, links), and prints for a first sweep and for a
steady-state sweep (nothing changed): the sweep time, the time a front would spend resolving
every linked dataset by its API URL (measured on a sample, extrapolated), the time of one raw
bulk read of the same datasets, their ratios, and the database commands per 1,000 links counted
by a pymongo `CommandListener` (mongomock sends no monitoring events, hence a real server).

It also prints the floor of this storage contract on the server: one plain read of the datasets
and of the links, and, for a first sweep, one `updateMany` that touches every link once (the
least any sweep that stores health on each link must write). The SecantusDB started here is
standalone (no oplog, like a standalone mongod) unless `--replica-set`.

With `--deliverables N` (0: none) it then adds N deliverables (half with rules naming one of
`--orgs` organisations and one of `--tags` tags, half with a specific dataset as target) and
prints the nightly job with them (`delivery.sweep.run_with_links`: link sweep, then delivery
sweep on the same read of the datasets) against the same link sweep without deliverables, the
two measured in turn (time ratio, goal <= 1.3x), the commands deliverables add, first and
steady state, and the floor (one read of the deliverables); then the same
with `--compare` deliverables over the same organisations and tags (the commands must not
change), and the delivery sweep on its own reads (scoped runs, fanned-out sweeps).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo import monitoring

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Commands(monitoring.CommandListener):
    """Counts the commands sent to the server, by name."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()

    def started(self, event) -> None:
        self.counts[event.command_name] += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass

    def reset(self) -> Counter:
        counts, self.counts = self.counts, Counter()
        return counts


LISTENER = Commands()
# Registered before any client exists: pymongo attaches global listeners at client creation.
monitoring.register(LISTENER)

# Share of datasets per state; the rest are fine.
STATES = {
    "archived": 0.05,
    "private": 0.04,
    "deleted": 0.04,
    "hard_deleted": 0.03,
    "overdue": 0.06,
    "unavailable": 0.04,
    "no_resources": 0.03,
}


def make_app(db_url: str):
    from udata import settings
    from udata.app import create_app, standalone

    from tests.conftest import _strip_unsupported_indexes

    secret = "ogp-bench"

    class Bench(settings.Defaults):
        MONGODB_HOST = db_url
        SECRET_KEY = secret
        API_TOKEN_SECRET = secret
        SECURITY_PASSWORD_SALT = secret
        URLS_RESOLVE_HOSTNAME = False
        CELERY_TASK_ALWAYS_EAGER = True
        SERVER_NAME = "bench.local"
        DEBUG = False

    _strip_unsupported_indexes()
    app = standalone(create_app(settings.Defaults, override=Bench))
    # The plugin joins through `udata.plugins`; make sure it did (editable install).
    if "OGP_SWEEP_BATCH_SIZE" not in app.config:
        import udata_ogp

        udata_ogp.init_app(app)
    _strip_unsupported_indexes()
    return app


def build_portal(
    n_links: int,
    n_datasets: int,
    n_commitments: int,
    seed: int = 7,
    n_orgs: int = 20,
    n_tags: int = 10,
) -> dict:
    """Bulk-insert datasets (from one factory-built template), commitments and links.

    Datasets belong to `n_orgs` organisations and carry one of `n_tags` tags, round robin.
    """
    from bson import ObjectId
    from udata.core.dataset.factories import DatasetFactory, ResourceFactory
    from udata.core.organization.factories import OrganizationFactory
    from udata.models import Dataset

    from udata_ogp.factories import ActionPlanFactory, CommitmentFactory
    from udata_ogp.models import CommitmentLink

    rng = random.Random(seed)
    now = datetime.now(UTC).replace(tzinfo=None)
    template = DatasetFactory.build(resources=[ResourceFactory.build()]).to_mongo().to_dict()
    resource_template = template["resources"][0]
    template.pop("_id", None)

    orgs = [OrganizationFactory().pk for _ in range(n_orgs)]
    tags = [f"theme-{i}" for i in range(n_tags)]
    names = list(STATES)
    weights = [STATES[n] for n in names] + [1 - sum(STATES.values())]
    docs, hard_deleted, states = [], [], Counter()
    for i in range(n_datasets):
        state = rng.choices(names + ["ok"], weights)[0]
        states[state] += 1
        doc = dict(template)
        doc["_id"] = ObjectId()
        doc["title"] = f"Jeu de données {i}"
        doc["slug"] = f"jeu-de-donnees-{i}"
        doc["last_update"] = now - timedelta(days=2)
        doc["frequency"] = "unknown"
        doc["organization"] = orgs[i % n_orgs]
        doc["tags"] = [tags[i % n_tags]]
        resource = {**resource_template, "_id": uuid.uuid4(), "extras": {}}
        doc["resources"] = [resource]
        if state == "archived":
            doc["archived"] = now
        elif state == "private":
            doc["private"] = True
        elif state == "deleted":
            doc["deleted"] = now
        elif state == "overdue":
            doc["frequency"] = "daily"
            doc["last_update"] = now - timedelta(days=20)
        elif state == "unavailable":
            resource["extras"] = {
                "check:available": False,
                "check:status": 404,
                "check:date": now.isoformat(),
            }
        elif state == "no_resources":
            doc["resources"] = []
        if state == "hard_deleted":
            hard_deleted.append(doc["_id"])  # linked, never inserted
        else:
            docs.append(doc)
    coll = Dataset._get_collection()
    for start in range(0, len(docs), 2000):
        coll.insert_many(docs[start : start + 2000], ordered=False)

    plan = ActionPlanFactory()
    commitments = [CommitmentFactory(plan=plan, number=i + 1) for i in range(n_commitments)]
    target_ids = [d["_id"] for d in docs] + hard_deleted
    rng.shuffle(target_ids)
    links = []
    for i in range(n_links):
        target_id = target_ids[i % len(target_ids)]
        commitment = commitments[(i // len(target_ids) + i) % n_commitments]
        role = "fulfils" if i % 3 == 0 else "contributes"
        links.append(
            {
                "_id": ObjectId(),
                "commitment": commitment.pk,
                "plan": plan.pk,
                "target_class": "Dataset",
                "target_id": target_id,
                "role": role,
                "source": "manual",
                "health": "unknown",
                "reasons": [],
                "failure_count": 0,
                "health_history": [],
                "created_at": now,
                "last_modified": now,
            }
        )
    link_coll = CommitmentLink._get_collection()
    for start in range(0, len(links), 5000):
        link_coll.insert_many(links[start : start + 5000], ordered=False)
    return {
        "states": states,
        "target_ids": target_ids,
        "links": links,
        "orgs": orgs,
        "tags": tags,
        "plan": plan,
        "commitments": commitments,
    }


def add_deliverables(portal: dict, n: int, seed: int = 13) -> None:
    """Replace the deliverables by `n` new ones: half with rules, half with a target."""
    from bson import ObjectId

    from udata_ogp.models import Deliverable

    rng = random.Random(seed)
    now = datetime.now(UTC).replace(tzinfo=None)
    coll = Deliverable._get_collection()
    coll.delete_many({})
    docs = []
    for i in range(n):
        commitment = portal["commitments"][i % len(portal["commitments"])]
        doc = {
            "_id": ObjectId(),
            "commitment": commitment.pk,
            "plan": portal["plan"].pk,
            "title": f"Livrable {i}",
            "due": "2027" if i % 4 else "2019",
            "state": "unknown",
            "reasons": [],
            "failure_count": 0,
            "matches": [],
            "history": [],
            "created_at": now,
            "last_modified": now,
        }
        if i % 2:
            doc["target_class"] = "Dataset"
            doc["target_id"] = rng.choice(portal["target_ids"])
        else:
            rules = {
                "organizations": [str(rng.choice(portal["orgs"]))],
                "tags": [rng.choice(portal["tags"])],
            }
            if i % 3 == 0:
                rules["min_resources"] = 1
            doc["rules"] = rules
        docs.append(doc)
    for start in range(0, len(docs), 5000):
        coll.insert_many(docs[start : start + 5000], ordered=False)


def delivery_state() -> dict:
    from udata_ogp.models import Commitment, Deliverable

    return {model: list(model._get_collection().find({})) for model in (Deliverable, Commitment)}


def interleaved(repeat: int, funcs: dict, reset=None) -> dict:
    """`timed` of each function, best of `repeat` rounds that run them in turn (`reset()`,
    untimed, before each run): both sides of a ratio see the same state of the machine."""
    best: dict = {}
    for _ in range(repeat):
        for name, func in funcs.items():
            if reset is not None:
                reset()
            run = timed(func)
            if name not in best or run[1] < best[name][1]:
                best[name] = run
    return best


def bench_deliveries(args, portal: dict, links_initial: dict) -> None:
    """The nightly job with deliverables (`delivery.sweep.run_with_links`: the link sweep reads
    the datasets once for both) against the same link sweep as the job runs it without any
    deliverable (`run_sweep`, its own fields only), measured in turn."""
    from udata_ogp.delivery.sweep import check_deliverables, run_with_links
    from udata_ogp.health.linkcheck import run_sweep

    figures = {}
    for n in (args.deliverables, args.compare):
        if not n:
            continue
        add_deliverables(portal, n)
        initial = delivery_state()

        def reset(initial: dict = initial) -> None:
            restore_state(links_initial)
            restore_state(initial)

        sides = {"links": run_sweep, "job": run_with_links}
        first = interleaved(args.repeat, sides, reset=reset)
        steady = interleaved(args.repeat, sides)
        # The delivery sweep on its own reads (one commitment's run, or a fanned-out sweep).
        restore_state(initial)
        _, own_first_s, own_first_cmds = best_of(
            args.repeat, check_deliverables, reset=lambda initial=initial: restore_state(initial)
        )
        _, own_steady_s, own_steady_cmds = best_of(args.repeat, check_deliverables)
        read_n, read_s, _ = best_of(args.repeat, raw_read_deliverables)
        assert read_n == n, read_n
        figures[n] = {"first": first, "steady": steady, "read": read_s}
        figures[n]["own"] = (own_first_s, own_first_cmds, own_steady_s, own_steady_cmds)
    n = args.deliverables
    print(
        f"\n== the job with {n} deliverables ({len(portal['orgs'])} organisations, "
        f"{len(portal['tags'])} tags) vs the same link sweep without deliverables, in turn =="
    )
    print(f"first delivery sweep result:  {figures[n]['first']['job'][0][1].as_dict()}")
    print(f"steady delivery sweep result: {figures[n]['steady']['job'][0][1].as_dict()}")
    for label in ("first", "steady"):
        (_, link_s, link_cmds), (_, s, cmds) = (figures[n][label][k] for k in ("links", "job"))
        extra = cmds - link_cmds
        print(
            f"{label:6} link sweep {link_s:7.2f} s, the job with deliverables {s:7.2f} s: "
            f"{s / link_s:5.2f} x  (goal <= 1.3x); extra commands "
            f"{sum(extra.values())} {dict(extra)}"
        )
    read_s = figures[n]["read"]
    link_s, job_s = (figures[n]["steady"][k][1] for k in ("links", "job"))
    print(
        f"floor: one read of the {n} deliverables with the sweep's projection {read_s:6.2f} s; "
        f"steady job vs link sweep + that read: {job_s / (link_s + read_s):5.2f} x"
    )
    for m, fig in figures.items():
        own_first_s, own_first_cmds, own_steady_s, own_steady_cmds = fig["own"]
        extra = {
            label: sum((fig[label]["job"][2] - fig[label]["links"][2]).values())
            for label in ("first", "steady")
        }
        print(
            f"{m:6} deliverables: extra commands in the job, first {extra['first']}, steady "
            f"{extra['steady']}; delivery sweep on its own reads: first {own_first_s:6.2f} s, "
            f"{sum(own_first_cmds.values())} commands; steady {own_steady_s:6.2f} s, "
            f"{sum(own_steady_cmds.values())} commands {dict(own_steady_cmds)}"
        )


def raw_read_deliverables() -> int:
    """One `find` of every deliverable with the delivery sweep's projection: its own floor."""
    from udata_ogp.delivery.sweep import DELIVERABLE_FIELDS
    from udata_ogp.models import Deliverable

    return sum(1 for _ in Deliverable._get_collection().find({}, DELIVERABLE_FIELDS))


def timed(func, *args, **kwargs):
    LISTENER.reset()
    start = time.perf_counter()
    value = func(*args, **kwargs)
    return value, time.perf_counter() - start, LISTENER.reset()


def best_of(repeat: int, func, *args, reset=None):
    """`timed(func, *args)` of the fastest of `repeat` runs; `reset()`, untimed, between runs.

    The fastest run is the one least disturbed by whatever else the machine does: every figure
    of this bench, the sweep's and its baselines' alike, is the best of the same number of runs.
    """
    best = None
    for index in range(repeat):
        if index and reset is not None:
            reset()
        run = timed(func, *args)
        if best is None or run[1] < best[1]:
            best = run
    return best


def api_resolution(
    app, links: list[dict], sample: int, repeat: int, seed: int = 11
) -> tuple[float, int]:
    """Seconds to GET every linked dataset by its API URL, extrapolated from a sample."""
    rng = random.Random(seed)
    chosen = rng.sample(links, min(sample, len(links)))
    client = app.test_client()
    statuses: Counter = Counter()

    def one_pass() -> None:
        statuses.clear()
        for link in chosen:
            response = client.get(f"/api/1/datasets/{link['target_id']}/")
            statuses[response.status_code] += 1

    _, elapsed, _ = best_of(repeat, one_pass)
    return elapsed * len(links) / len(chosen), dict(statuses)


def snapshot_state() -> dict:
    """The raw links and commitments, to put back before each repeat of the first sweep."""
    from udata_ogp.models import Commitment, CommitmentLink

    return {model: list(model._get_collection().find({})) for model in (CommitmentLink, Commitment)}


def restore_state(state: dict) -> None:
    # A new collection rather than deleted documents, which a storage engine may keep around.
    for model, docs in state.items():
        coll = model._get_collection()
        coll.drop()
        model.ensure_indexes()
        for start in range(0, len(docs), 5000):
            coll.insert_many([dict(doc) for doc in docs[start : start + 5000]], ordered=False)


def raw_read(target_ids, use_in: bool = False, tags: bool = True) -> int:
    """One `find` of the linked datasets with the sweep's projection.

    Every dataset of the synthetic portal is linked, so by default the find has no filter (a
    plain scan of the same documents). `use_in` filters by `_id $in` the linked ids instead:
    on SecantusDB that costs far more than the scan (its `$in` is superlinear: 234 s for
    10,000 ids, measured), which would flatter the sweep. `tags=False` leaves out the tags,
    which the sweep reads for the tag links: a cheaper baseline, printed for reference.
    """
    from udata.models import Dataset

    from udata_ogp.health.storage import raw_collection
    from udata_ogp.health.sweep import TARGET_FIELDS

    coll = raw_collection(Dataset)
    query = {"_id": {"$in": list(set(target_ids))}} if use_in else {}
    projection = dict(TARGET_FIELDS["Dataset"])
    if not tags:
        projection.pop("tags")
    return len(list(coll.find(query, projection)))


def raw_read_links() -> int:
    """One `find` of every link with the sweep's projection: the other half of what it reads."""
    from udata_ogp.health.sweep import LINK_FIELDS
    from udata_ogp.models import CommitmentLink

    return len(list(CommitmentLink._get_collection().find({}, LINK_FIELDS).batch_size(1000)))


def touch_every_link() -> int:
    """One `updateMany` changing a field of every link: the least a first sweep must write."""
    from udata_ogp.models import CommitmentLink

    coll = CommitmentLink._get_collection()
    return coll.update_many({}, {"$inc": {"bench_touch": 1}}).modified_count


def report(
    label: str,
    n_links: int,
    sweep_s: float,
    commands: Counter,
    api_s: float,
    raw_s: float,
    links_s: float,
    raw_no_tags_s: float,
    write_floor_s: float = 0.0,
):
    per_k = sum(commands.values()) * 1000 / n_links
    print(f"\n== {label} ==")
    print(f"sweep:                      {sweep_s:8.2f} s  ({n_links / sweep_s:,.0f} links/s)")
    print(f"per-link API resolution:    {api_s:8.2f} s  (extrapolated from the sample)")
    print(f"raw bulk read of datasets:  {raw_s:8.2f} s  (one find, same projection)")
    print(f"sweep vs API resolution:    {api_s / sweep_s:8.1f} x faster  (goal >= 50x)")
    print(f"sweep vs raw bulk read:     {sweep_s / raw_s:8.2f} x slower  (goal <= 3x)")
    print(
        f"  (vs a read without tags:  {sweep_s / raw_no_tags_s:8.2f} x slower, "
        f"{raw_no_tags_s:.2f} s: the sweep needs the tags, for tag links)"
    )
    both = raw_s + links_s
    print(f"raw read datasets + links:  {both:8.2f} s  (the least the sweep must read)")
    print(f"sweep vs that read:         {sweep_s / both:8.2f} x slower")
    if write_floor_s:
        floor = both + write_floor_s
        print(f"+ one write of every link:  {floor:8.2f} s  (one updateMany over all the links)")
        print(f"sweep vs that floor:        {sweep_s / floor:8.2f} x")
        print(f"floor vs raw bulk read:     {floor / raw_s:8.2f} x slower")
    print(f"commands per 1,000 links:   {per_k:8.2f}       (goal <= 10)  {dict(commands)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=20000)
    parser.add_argument("--datasets", type=int, default=10000)
    parser.add_argument("--commitments", type=int, default=200)
    parser.add_argument("--sample", type=int, default=200, help="links resolved through the API")
    parser.add_argument("--batch-size", type=int, default=None, help="OGP_SWEEP_BATCH_SIZE")
    parser.add_argument(
        "--group-chunk",
        type=int,
        default=None,
        help="ids per updateMany of identical link updates (storage.GROUP_CHUNK; 1: no grouping)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each measure; the fastest is kept"
    )
    parser.add_argument("--deliverables", type=int, default=2000, help="0: no delivery bench")
    parser.add_argument("--compare", type=int, default=500, help="deliverables, for commands")
    parser.add_argument("--orgs", type=int, default=20, help="organisations of the datasets")
    parser.add_argument("--tags", type=int, default=10, help="distinct tags of the datasets")
    parser.add_argument("--db", default=None, help="mongodb:// URL (default: own SecantusDB)")
    parser.add_argument(
        "--replica-set",
        action="store_true",
        help="own SecantusDB as a single-node replica set with an oplog (default: standalone)",
    )
    parser.add_argument(
        "--raw-in", action="store_true", help="raw read filtered by `_id $in` (slow on SecantusDB)"
    )
    args = parser.parse_args(argv)

    from tests.servers import start_secantus, stop

    proc = None
    db_url = args.db
    if db_url is None:
        proc, db_url = start_secantus("udata-ogp-bench", standalone=not args.replica_set)
    try:
        app = make_app(db_url)
        with app.test_request_context():
            from udata_ogp.health import storage
            from udata_ogp.health.linkcheck import run_sweep

            if args.batch_size:
                app.config["OGP_SWEEP_BATCH_SIZE"] = args.batch_size
            if args.group_chunk:
                storage.GROUP_CHUNK = args.group_chunk
            mode = "given" if args.db else ("replica set" if args.replica_set else "standalone")
            print(f"database: {db_url} ({mode})")
            start = time.perf_counter()
            portal = build_portal(
                args.links, args.datasets, args.commitments, n_orgs=args.orgs, n_tags=args.tags
            )
            print(
                f"portal: {args.links} links over {args.datasets} datasets, "
                f"{args.commitments} commitments, built in {time.perf_counter() - start:.1f} s"
            )
            print(f"dataset states: {dict(portal['states'])}")
            print(f"batch size: {app.config['OGP_SWEEP_BATCH_SIZE']}")
            print(f"group chunk: {storage.GROUP_CHUNK}")

            print(f"each figure: the fastest of {args.repeat} runs")

            initial = snapshot_state()
            first, first_s, first_cmds = best_of(
                args.repeat, run_sweep, reset=lambda: restore_state(initial)
            )
            print(f"first sweep result: {first.as_dict()}")
            print(f"first sweep link update statements: {first.write_ops} for {first.written}")
            steady, steady_s, steady_cmds = best_of(args.repeat, run_sweep)
            print(f"steady-state sweep result: {steady.as_dict()}")

            ids = portal["target_ids"]
            _, raw_s, raw_cmds = best_of(args.repeat, raw_read, ids, args.raw_in)
            _, links_s, _ = best_of(args.repeat, raw_read_links)
            _, raw_no_tags_s, _ = best_of(args.repeat, raw_read, ids, args.raw_in, False)
            api_s, statuses = api_resolution(app, portal["links"], args.sample, args.repeat)
            print(f"API sample of {args.sample} links, HTTP statuses: {statuses}")
            # Last: it changes every link.
            touched, touch_s, _ = best_of(args.repeat, touch_every_link)
            assert touched == args.links, touched
            report(
                "first sweep",
                args.links,
                first_s,
                first_cmds,
                api_s,
                raw_s,
                links_s,
                raw_no_tags_s,
                touch_s,
            )
            report(
                "steady-state sweep",
                args.links,
                steady_s,
                steady_cmds,
                api_s,
                raw_s,
                links_s,
                raw_no_tags_s,
            )
            print(f"\nraw read commands: {dict(raw_cmds)}")
            if args.deliverables:
                bench_deliveries(args, portal, initial)
    finally:
        stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
