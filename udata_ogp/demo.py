"""`udata ogp demo`: a whole portal in one process, on the embedded database.

It builds its own app (no `udata.cfg` needed), imports the France 2018-2020 plan, creates the
organisations, datasets and reuses that the plan cites (named after the real data.gouv.fr ones),
links them, makes a few stale on purpose, runs the link sweep once and serves on 127.0.0.1.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.resources import files

from udata_ogp.embedded import mongomock_settings

DEMO_DB_URL = "mongodb://localhost:27017/udata-ogp-demo"
REFERENCE_PLAN = "fr-action-plan-2018-2020.json"

# Organisations, datasets and reuses named after the data.gouv.fr ones the plan cites
# (`data_gouv_links` of the reference file), plus a few it describes in words.
ORGANIZATIONS = {
    "etalab": "Etalab (DINUM)",
    "inao": "Institut national de l'origine et de la qualité",
    "dgfip": "Direction générale des Finances publiques",
    "ditp": "Direction interministérielle de la transformation publique",
    "minefi": "Ministère de l'Économie, des Finances et de la Relance",
    "cour-des-comptes": "Cour des comptes",
}

# slug, title, organisation, frequency, state ("ok", "archived", "deleted", "overdue",
# "unavailable", "private", "harvest_removed"): the states make the link sweep show every
# health badge, and the pages what a visitor may not see.
DATASETS = [
    ("aire-geographique-des-igp", "Aire géographique des IGP", "inao", "annual", "ok"),
    (
        "piaf-le-dataset-franco-phone-de-questions-reponses",
        "PIAF - Le dataset francophone de questions-réponses",
        "etalab",
        "irregular",
        "ok",
    ),
    (
        "observatoire-de-la-dematerialisation-de-qualite-tableau-de-bord-des-demarches-phares-de-letat",
        "Observatoire de la dématérialisation de qualité - Tableau de bord des démarches phares",
        "ditp",
        "quarterly",
        "unavailable",
    ),
    (
        "enquete-sur-le-hackathon-datafin-de-juin-2018",
        "Enquête sur le hackathon #Datafin de juin 2018",
        "etalab",
        "punctual",
        "ok",
    ),
    (
        "demandes-de-valeurs-foncieres",
        "Demandes de valeurs foncières (DVF)",
        "dgfip",
        "semiannual",
        "overdue",
    ),
    (
        "donnees-essentielles-de-la-commande-publique-fichiers-consolides",
        "Données essentielles de la commande publique - fichiers consolidés",
        "minefi",
        "daily",
        "archived",
    ),
    (
        "referentiel-des-administrateurs-ministeriels-des-donnees",
        "Référentiel des administrateurs ministériels des données",
        "etalab",
        "annual",
        "deleted",
    ),
    (
        "donnees-essentielles-des-marches-publics-de-la-region-grand-est",
        "Données essentielles des marchés publics de la région Grand Est",
        "minefi",
        "monthly",
        "harvest_removed",
    ),
    (
        "plan-de-nommage-des-administrateurs-ministeriels-des-donnees",
        "Plan de nommage des administrateurs ministériels des données (version de travail)",
        "etalab",
        "punctual",
        "private",
    ),
]

REUSES = [
    (
        "le-point-sur-les-donnees-essentielles-de-la-commande-publique-1-10-2018",
        "Le point sur les données essentielles de la commande publique (1/10/2018)",
        "minefi",
        "donnees-essentielles-de-la-commande-publique-fichiers-consolides",
    ),
]

# Links made by hand by producers (commitment number, slug, role, note); the import adds the
# `evidence` links of the URLs the plan itself prints.
MANUAL_LINKS = [
    (
        5,
        "demandes-de-valeurs-foncieres",
        "fulfils",
        "La DINUM a accompagné la DGFiP dans l'ouverture de la base DVF (rapport 2021).",
    ),
    (
        5,
        "referentiel-des-administrateurs-ministeriels-des-donnees",
        "fulfils",
        "Liste publique des administrateurs ministériels des données.",
    ),
    (
        2,
        "donnees-essentielles-de-la-commande-publique-fichiers-consolides",
        "fulfils",
        "Les données essentielles de la commande publique, consolidées.",
    ),
    (8, "aire-geographique-des-igp", "contributes", None),
    (
        2,
        "donnees-essentielles-des-marches-publics-de-la-region-grand-est",
        "contributes",
        "Moissonnées depuis la plateforme régionale, qui ne les publie plus.",
    ),
    (
        5,
        "plan-de-nommage-des-administrateurs-ministeriels-des-donnees",
        "evidence",
        "Version de travail, rendue privée en attendant sa validation.",
    ),
]
# What the portal's own data must show for commitments to count as delivered (commitment number,
# milestone index or None, title, one dataset's slug or rules, due date; `org:` names an
# organisation of the demo). States after the demo's two sweeps: met with a proof (8), withdrawn
# after delivery (5, its dataset deleted), at risk because its only data is overdue (DVF),
# at risk because it is due within weeks (4), not delivered by its date (2: its data archived),
# not yet due (13, no dataset has an open licence yet), not verified yet (12, declared after the
# sweep).
DUE_SOON = "due-soon"
DELIVERABLES = [
    (
        8,
        None,
        "Les aires géographiques des signes officiels de qualité",
        "aire-geographique-des-igp",
        "2019",
    ),
    (
        5,
        0,
        "La liste publique des administrateurs ministériels des données",
        "referentiel-des-administrateurs-ministeriels-des-donnees",
        "2018-12",
    ),
    (
        5,
        None,
        "Les données de valeurs foncières (DVF)",
        {"organizations": ["org:dgfip"], "tags": ["dvf"]},
        "2019-04",
    ),
    (
        2,
        0,
        "Les données essentielles de la commande publique, consolidées",
        "donnees-essentielles-de-la-commande-publique-fichiers-consolides",
        "2019",
    ),
    (
        4,
        0,
        "Les données de référence du service public de la donnée, mises à jour",
        {"organizations": ["org:etalab"], "tags": ["service-public-de-la-donnee"]},
        DUE_SOON,
    ),
    (
        13,
        None,
        "Le tableau de bord des démarches phares, sous licence ouverte",
        {"organizations": ["org:ditp"], "formats": ["csv"], "open_license": True},
        None,
    ),
]
DECLARED = [
    (2, "complete", "Autoévaluation de fin de parcours : les données consolidées sont publiées."),
    (8, "limited", "Autoévaluation à mi-parcours : le laboratoire démarre."),
]
LATE_DELIVERABLE = (
    12,
    None,
    "Les contributions des consultations citoyennes",
    {"tags": ["consultation-citoyenne"]},
    "2020",
)

EXPECTED_DATA = [
    (
        5,
        "Impact de l'ouverture des données publiques (indicateurs)",
        "fulfils",
        "Milestone 5.4: not published yet.",
    ),
]


# The demo serves plain http on 127.0.0.1: a cookie marked Secure (udata's default, right for
# production) would never come back and every sign-in would be forgotten at the next page.
DEMO_COOKIE_SETTINGS: dict[str, object] = {
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_SECURE": False,
}


@dataclass
class DemoAccount:
    email: str
    password: str
    api_key: str
    role: str


@dataclass
class DemoContent:
    accounts: list[DemoAccount] = field(default_factory=list)
    plan_slug: str | None = None
    summary: dict[str, int] = field(default_factory=dict)
    deliveries: dict = field(default_factory=dict)
    deliverable_commitment: str | None = None
    unverified_deliverable: str | None = None
    review_commitment: str | None = None


def demo_settings() -> type:
    return type(
        "OgpDemoSettings",
        (),
        {
            **mongomock_settings(DEMO_DB_URL),
            "DEBUG": False,
            "TESTING": False,
            "SECRET_KEY": secrets.token_hex(16),
            "API_TOKEN_SECRET": secrets.token_hex(16),
            # No worker, no broker: tasks run inline, like in tests.
            "CELERY_TASK_ALWAYS_EAGER": True,
            "CELERY_TASK_EAGER_PROPAGATES": True,
            "SEND_MAIL": False,
            "AUTO_INDEX": False,
            "ELASTICSEARCH_URL": None,
            "CACHE_TYPE": "flask_caching.backends.NullCache",
            "CACHE_NO_NULL_WARNING": True,
            "URLS_RESOLVE_HOSTNAME": False,
            "CDATA_BASE_URL": None,
            "SECURITY_EMAIL_VALIDATOR_ARGS": {"check_deliverability": False},
            "SECURITY_TWO_FACTOR": False,
            "PUBLISH_ON_RESOURCE_EVENTS": False,
            "LOGGER_HANDLER_POLICY": "never",
            "SITE_TITLE": "Portail démo udata-ogp",
            "DEFAULT_LANGUAGE": "fr",
            **DEMO_COOKIE_SETTINGS,
        },
    )


def create_demo_app():
    from udata import settings
    from udata.app import create_app, standalone

    app = create_app(settings.Defaults, override=demo_settings())
    return standalone(app)


def _user(email: str, first: str, last: str, password: str, admin: bool = False):
    """An account made as `udata user create` makes one: through Flask-Security's datastore.

    The datastore gives each user its `fs_uniquifier`, which the session cookie and udata's
    permissions (`UserNeed`) identify the user by: without it a web sign-in does not hold and
    every account is the same user to `OwnablePermission`.
    """
    from flask_security.utils import hash_password
    from udata.models import datastore

    user = datastore.create_user(
        email=email,
        first_name=first,
        last_name=last,
        password=hash_password(password),
        confirmed_at=datetime.now(UTC),
    )
    if admin:
        datastore.add_role_to_user(user, datastore.find_or_create_role("admin"))
    return user


def _api_key(user) -> str:
    from udata.core.api_token.models import ApiToken

    _token, plaintext = ApiToken.generate(user, name="udata-ogp demo")
    return plaintext


def _resource(url: str, available: bool | None = True):
    from udata.core.dataset.models import Resource

    extras = {}
    if available is not None:
        extras = {
            "check:available": available,
            "check:status": 200 if available else 404,
            "check:date": datetime.now(UTC),
        }
    return Resource(
        title="Fichier principal",
        url=url,
        filetype="remote",
        type="main",
        format="csv",
        extras=extras,
    )


def _deliverable(plan, spec, datasets, orgs, now):
    """One of `DELIVERABLES`, declared as the commitment's editors would (no permission check:
    the demo acts as the portal)."""
    from udata_ogp.delivery.actions import create_deliverable
    from udata_ogp.models import Commitment

    number, milestone, title, what, due = spec
    commitment = Commitment.objects.get(plan=plan, number=number)
    data = {"title": title}
    if milestone is not None and commitment.milestones:
        data["milestone"] = commitment.milestones[milestone].number
    if due == DUE_SOON:
        due = (now + timedelta(days=30)).date().isoformat()
    if due:
        data["due"] = due
    if isinstance(what, str):
        data["element"] = {"class": "Dataset", "id": str(datasets[what].id)}
    else:
        rules = dict(what)
        if "organizations" in rules:
            rules["organizations"] = [str(orgs[o[4:]].id) for o in rules["organizations"]]
        data["rules"] = rules
    # Evaluated by the demo's own sweeps, at the times it chooses.
    return create_deliverable(commitment, data, check=False, evaluate=False)


def load_demo_content() -> DemoContent:
    """Fill an empty database with the demo portal. Needs an app context."""
    from udata.core.dataset.models import Dataset, HarvestDatasetMetadata
    from udata.core.organization.models import Member, Organization
    from udata.core.reuse.models import Reuse

    from udata_ogp.actions import change_status, create_link
    from udata_ogp.delivery import sweep as delivery_sweep
    from udata_ogp.delivery.proposing import propose
    from udata_ogp.health.linkcheck import run_sweep
    from udata_ogp.models import ActionPlan, Commitment
    from udata_ogp.plans.importing import import_plan

    content = DemoContent()
    admin_password, producer_password = secrets.token_urlsafe(9), secrets.token_urlsafe(9)
    admin = _user("admin@ogp.demo", "Alice", "Admin", admin_password, admin=True)
    producer = _user("producteur@ogp.demo", "Paul", "Producteur", producer_password)

    orgs = {}
    for slug, name in ORGANIZATIONS.items():
        members = [Member(user=producer, role="editor")] if slug in ("etalab", "dgfip") else []
        orgs[slug] = Organization.objects.create(
            name=name,
            slug=slug,
            description=f"{name} (organisation de démonstration).",
            members=members,
        )

    now = datetime.now(UTC)
    datasets = {}
    for slug, title, org, frequency, state in DATASETS:
        url = f"https://static.data.gouv.fr/demo/{slug[:40]}.csv"
        dataset = Dataset(
            title=title,
            slug=slug,
            description=f"{title}. Jeu de données de démonstration.",
            organization=orgs[org],
            frequency=frequency,
            resources=[_resource(url, available=state != "unavailable")],
        )
        dataset.save()
        if state == "overdue":
            Dataset.objects(id=dataset.id).update_one(set__last_update=now - timedelta(days=800))
        elif state == "archived":
            Dataset.objects(id=dataset.id).update_one(set__archived=now - timedelta(days=30))
        elif state == "harvest_removed":
            # What udata's harvester does when the source stops publishing a dataset.
            Dataset.objects(id=dataset.id).update_one(
                set__archived=now - timedelta(days=10),
                set__harvest=HarvestDatasetMetadata(
                    backend="DCAT",
                    domain="data.grandest.fr",
                    remote_id=slug,
                    archived_at=now - timedelta(days=10),
                    archived_reason="not-on-remote",
                ),
            )
        datasets[slug] = dataset

    for slug, title, org, dataset_slug in REUSES:
        Reuse.objects.create(
            title=title,
            slug=slug,
            description=f"{title}. Réutilisation de démonstration.",
            url=f"https://www.data.gouv.fr/fr/reuses/{slug}/",
            type="visualization",
            topic="others",
            organization=orgs[org],
            datasets=[datasets[dataset_slug]],
        )

    report = import_plan(files("udata_ogp.data").joinpath(REFERENCE_PLAN).read_bytes(), by=admin)
    plan = report.plan or ActionPlan.objects.first()
    plan.modify(organization=orgs["etalab"])
    content.plan_slug = plan.slug

    for number, slug, role, note in MANUAL_LINKS:
        commitment = Commitment.objects.get(plan=plan, number=number)
        create_link(
            commitment,
            target_class="Dataset",
            target_id=datasets[slug].id,
            role=role,
            note=note,
            by=producer,
            check=False,
        )
    for number, title, role, note in EXPECTED_DATA:
        commitment = Commitment.objects.get(plan=plan, number=number)
        create_link(commitment, title=title, role=role, note=note, by=admin, check=False)

    # Deliverables, verified by a first delivery sweep a month ago, before the data below
    # changed: what the plan promised was delivered then.
    Dataset.objects(slug="demandes-de-valeurs-foncieres").update_one(set__tags=["dvf"])
    for spec in DELIVERABLES:
        _deliverable(plan, spec, datasets, orgs, now)
    delivery_sweep.check_deliverables(now=now - timedelta(days=30))

    # A producer links by tagging, in the tool they already use: the save re-evaluates it.
    tagged = datasets["piaf-le-dataset-franco-phone-de-questions-reponses"]
    tagged.tags = ["ogp-fr0034"]
    tagged.save()

    # Made stale after linking, as happens in real life: deleted after it was linked.
    deleted = datasets["referentiel-des-administrateurs-ministeriels-des-donnees"]
    Dataset.objects(id=deleted.id).update_one(set__deleted=now - timedelta(days=3))
    # Made private after linking: visitors read only that a non-public dataset serves it; its
    # producer (editor of Etalab) and the administrator still see which one.
    private = datasets["plan-de-nommage-des-administrateurs-ministeriels-des-donnees"]
    Dataset.objects(id=private.id).update_one(set__private=True)

    # What the government declares, beside what the data says: commitment 2 is declared done
    # although its data was archived; commitment 8 declared limited although it is delivered.
    for number, status, rationale in DECLARED:
        commitment = Commitment.objects.get(plan=plan, number=number)
        change_status(commitment, status=status, rationale=rationale, by=admin, check=False)

    content.summary = run_sweep(now=now).as_dict()
    content.deliveries = delivery_sweep.run(now=now).as_dict()
    # What the nightly job does next: datasets that may deliver what is still missing.
    content.deliveries["proposals"] = propose(now=now).as_dict()
    content.review_commitment = Commitment.objects.get(plan=plan, number=13).slug
    # Declared after the sweep: the next one will tell.
    late = _deliverable(plan, LATE_DELIVERABLE, datasets, orgs, now)
    content.deliverable_commitment = Commitment.objects.get(plan=plan, number=5).slug
    content.unverified_deliverable = str(late.id)

    content.accounts = [
        DemoAccount(admin.email, admin_password, _api_key(admin), "administrator"),
        DemoAccount(
            producer.email,
            producer_password,
            _api_key(producer),
            "producer (editor of Etalab and DGFiP)",
        ),
    ]
    return content


def run_demo(host: str = "127.0.0.1", port: int = 7000) -> None:
    import click
    from werkzeug.serving import run_simple

    app = create_demo_app()
    with app.app_context():
        content = load_demo_content()
    base = f"http://{host}:{port}"
    click.echo(f"udata-ogp demo portal: {base}/ogp/")
    click.echo(f"  plan page:  {base}/ogp/plans/{content.plan_slug}/")
    click.echo(f"  API:        {base}/api/1/ogp/plans/   (OpenAPI: {base}/api/1/swagger.json)")
    click.echo(f"  link sweep: {content.summary}")
    click.echo(
        f"  deliverables: {base}/ogp/commitments/{content.deliverable_commitment}/  "
        f"(API: {base}/api/1/ogp/commitments/{content.deliverable_commitment}/deliverables/)"
    )
    click.echo(f"  delivery sweep: {content.deliveries}")
    click.echo(
        f"  review queue (sign in as an editor): "
        f"{base}/ogp/commitments/{content.review_commitment}/proposals/"
    )
    for account in content.accounts:
        click.echo(
            f"  {account.role}: {account.email} / password {account.password} / "
            f"X-API-KEY: {account.api_key}"
        )
    click.echo("Press Ctrl+C to stop.")
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
