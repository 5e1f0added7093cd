"""Receivers of udata signals: re-evaluate a target's links as soon as it changes.

Which signals really fire (udata 17): `after_save` on every save, `on_create`, `on_update` (only
when an *auditable* field changed: `deleted` is not one, so an undelete sends no `on_update`),
`on_delete` (soft delete, re-sent on every save while deleted), mongoengine `post_delete` (hard
delete, e.g. the `purge-datasets` job). We listen to `after_save`, which covers creation, update,
soft delete and undelete with one task per save (`on_update` + `on_delete` would queue two for the
same save), and to `post_delete`. Hydra's extras updates and `QuerySet.update()` send nothing: the
periodic sweep is the safety net. Senders: the document for udata's signals, the class for
`post_delete`.

Receivers stay cheap (one indexed query on `target_id`) and never raise: a plugin must not break
udata's own save.
"""

from __future__ import annotations

import logging

from mongoengine.signals import post_delete
from udata.models import Dataservice, Dataset, Reuse

from udata_ogp.health.tagging import TAG_PREFIX, TAGGABLE
from udata_ogp.models import CommitmentLink

log = logging.getLogger(__name__)


def _has_ogp_tag(document) -> bool:
    return any(str(t).startswith(TAG_PREFIX) for t in getattr(document, "tags", None) or [])


def _reevaluate(document) -> None:
    class_name = type(document).__name__
    try:
        tagged = class_name in TAGGABLE and _has_ogp_tag(document)
        if not tagged and CommitmentLink.objects(target_id=document.pk).only("id").first() is None:
            return
        from udata_ogp.tasks import reevaluate_target

        reevaluate_target.delay(class_name, str(document.pk))
    except Exception:  # never break udata's save or delete
        log.exception("Could not re-evaluate the OGP links of %s %s", class_name, document.pk)


def on_save(document, **kwargs) -> None:
    _reevaluate(document)


def on_hard_delete(sender, document, **kwargs) -> None:
    _reevaluate(document)


for _model in (Dataset, Reuse, Dataservice):
    _model.after_save.connect(on_save)
    post_delete.connect(on_hard_delete, sender=_model)
