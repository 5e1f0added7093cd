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


def load_demo_content() -> DemoContent:
    """Fill an empty database with the demo portal. Needs an app context."""
    from udata.core.dataset.models import Dataset, HarvestDatasetMetadata
    from udata.core.organization.models import Member, Organization
    from udata.core.reuse.models import Reuse

    from udata_ogp.actions import create_link
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

    content.summary = run_sweep(now=now).as_dict()

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
    for account in content.accounts:
        click.echo(
            f"  {account.role}: {account.email} / password {account.password} / "
            f"X-API-KEY: {account.api_key}"
        )
    click.echo("Press Ctrl+C to stop.")
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
