"""Receivers of udata signals: re-evaluate a target's links as soon as it changes.

Which signals really fire (udata 17): `on_update` (auditable field changed), `on_delete` (soft
delete, re-sent on every save while deleted), mongoengine `post_delete` (hard delete, e.g. the
`purge-datasets` job). Hydra's extras updates and `QuerySet.update()` send nothing: the periodic
sweep is the safety net. Senders: the document itself for `on_*`, the class for `post_delete`.

Receivers stay cheap (one indexed query on `target_id`) and never raise: a plugin must not break
udata's own save.
"""

from __future__ import annotations

import logging

from mongoengine.signals import post_delete
from udata.models import Dataservice, Dataset, Reuse

from udata_ogp.models import CommitmentLink
from udata_ogp.tagging import TAG_PREFIX, TAGGABLE

log = logging.getLogger(__name__)


def _has_ogp_tag(document) -> bool:
    return any(str(t).startswith(TAG_PREFIX) for t in getattr(document, "tags", None) or [])


def _reevaluate(document, tags_changed: bool = False) -> None:
    class_name = type(document).__name__
    try:
        linked = CommitmentLink.objects(target_id=document.pk).only("id").first() is not None
        if not linked and not (class_name in TAGGABLE and (tags_changed or _has_ogp_tag(document))):
            return
        from udata_ogp.tasks import reevaluate_target

        reevaluate_target.delay(class_name, str(document.pk))
    except Exception:  # never break udata's save or delete
        log.exception("Could not re-evaluate the OGP links of %s %s", class_name, document.pk)


def on_update(document, **kwargs) -> None:
    changed = kwargs.get("changed_fields") or []
    _reevaluate(document, tags_changed="tags" in changed)


def on_create(document, **kwargs) -> None:
    if _has_ogp_tag(document):
        _reevaluate(document, tags_changed=True)


def on_delete(document, **kwargs) -> None:
    _reevaluate(document)


def on_hard_delete(sender, document, **kwargs) -> None:
    _reevaluate(document)


for _model in (Dataset, Reuse, Dataservice):
    _model.on_create.connect(on_create)
    _model.on_update.connect(on_update)
    _model.on_delete.connect(on_delete)
    post_delete.connect(on_hard_delete, sender=_model)
