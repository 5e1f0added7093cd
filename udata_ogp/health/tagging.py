"""Tags as a way to link: `ogp-fr0034` or `ogp-<plan slug>-<number>` on a dataset or reuse.

A producer tags the object in whatever tool they already use; the sweep creates a `contributes`
link with `source="tag"`, and removes it when the tag disappears. A tag that names no commitment
is reported, never guessed. Reads: one indexed prefix query (`tags` is indexed by udata) per class,
or nothing when a full sweep has already read the class whole (`linkcheck`); then a few `$in`
queries to resolve commitments. Links are created through `actions.create_link` so the plugin's
rules apply once.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId

from udata_ogp.errors import OgpError
from udata_ogp.health.storage import raw_collection
from udata_ogp.models import ActionPlan, Commitment, CommitmentLink
from udata_ogp.targets import STATE_FIELDS, target_model

__all__ = ("TAG_PREFIX", "TagResult", "concerns_tags", "parse_tag", "sync_tags", "tagged_in")

log = logging.getLogger(__name__)

TAG_PREFIX = "ogp-"
TAGGABLE = ("Dataset", "Reuse")
_OGP_ID = re.compile(r"^[a-z]{2,8}\d{2,5}$")
_SLUG_NUMBER = re.compile(r"^(?P<slug>[a-z0-9][a-z0-9-]*)-(?P<number>\d+)$")


@dataclass
class TagResult:
    created: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    unknown: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    # Ids of the links created, and commitments whose links changed (for the sweep).
    created_ids: list[ObjectId] = field(default_factory=list)
    commitments: set[ObjectId] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "removed": len(self.removed),
            "unknown": self.unknown,
            "skipped": self.skipped,
        }


def parse_tag(tag: str) -> tuple[str, str] | tuple[str, tuple[str, int]] | None:
    """`("ogp_id", "FR0034")`, `("slug", (plan slug, number))`, or None if not ours."""
    if not tag.startswith(TAG_PREFIX):
        return None
    rest = tag[len(TAG_PREFIX) :].lower()
    if _OGP_ID.match(rest):
        return "ogp_id", rest.upper()
    match = _SLUG_NUMBER.match(rest)
    if match:
        return "slug", (match["slug"], int(match["number"]))
    return None


def _resolve(tags: set[str]) -> dict[str, ObjectId]:
    """Commitment id for each tag that names one; three `$in` queries at most."""
    parsed = {tag: parse_tag(tag) for tag in tags}
    resolved: dict[str, ObjectId] = {}
    ogp_ids = {value for kind, value in filter(None, parsed.values()) if kind == "ogp_id"}
    if ogp_ids:
        by_ogp = {
            doc["ogp_id"]: doc["_id"]
            for doc in Commitment._get_collection().find(
                {"ogp_id": {"$in": list(ogp_ids)}}, {"ogp_id": 1}
            )
        }
        for tag, item in parsed.items():
            if item and item[0] == "ogp_id" and item[1] in by_ogp:
                resolved[tag] = by_ogp[item[1]]
    # `ogp-fr0034` might also be a plan slug "fr" + number: try the slug form for the rest.
    slug_tags = {}
    for tag in tags:
        if tag in resolved:
            continue
        match = _SLUG_NUMBER.match(tag[len(TAG_PREFIX) :].lower())
        if match:
            slug_tags[tag] = (match["slug"], int(match["number"]))
    if slug_tags:
        plans = {
            doc["slug"]: doc["_id"]
            for doc in ActionPlan._get_collection().find(
                {"slug": {"$in": list({s for s, _ in slug_tags.values()})}}, {"slug": 1}
            )
        }
        wanted = {(plans[s], n) for s, n in slug_tags.values() if s in plans}
        if wanted:
            found = {
                (doc["plan"], doc["number"]): doc["_id"]
                for doc in Commitment._get_collection().find(
                    {
                        "plan": {"$in": list({p for p, _ in wanted})},
                        "number": {"$in": list({n for _, n in wanted})},
                    },
                    {"plan": 1, "number": 1},
                )
            }
            for tag, (slug, number) in slug_tags.items():
                key = (plans.get(slug), number)
                if key in found:
                    resolved[tag] = found[key]
    return resolved


def _has_ogp_tag(doc: dict) -> bool:
    return any(tag.startswith(TAG_PREFIX) for tag in doc.get("tags") or [])


def tagged_in(preloaded: dict[str, dict[ObjectId, dict]]) -> set[tuple[str, ObjectId]] | None:
    """`(class, id)` of every tagged object, when a full sweep preloaded every taggable class."""
    if not all(class_name in preloaded for class_name in TAGGABLE):
        return None
    return {
        (class_name, tid)
        for class_name in TAGGABLE
        for tid, doc in preloaded[class_name].items()
        if _has_ogp_tag(doc)
    }


def concerns_tags(link: dict, tagged: set[tuple[str, ObjectId]]) -> bool:
    """Whether `sync_tags` needs this raw link: a tag link, or any link of a tagged object."""
    return (
        link.get("source") == "tag" or (link.get("target_class"), link.get("target_id")) in tagged
    )


def sync_tags(
    target: tuple[str, Any] | None = None,
    preloaded: dict[str, dict[ObjectId, dict]] | None = None,
    links: list[dict] | None = None,
) -> TagResult:
    """Create and remove tag links for every tagged dataset/reuse (or one target).

    `preloaded`: the raw documents a full sweep already read (`sweep.preload_dense`, whose
    projection has the tags); those classes are filtered in memory instead of queried.
    `links`: the raw links that `concerns_tags` kept while that sweep read every link (with
    `commitment`, `target_class`, `target_id`, `source`); they are then not queried again.
    """
    result = TagResult()
    classes = TAGGABLE
    id_filter: dict[str, Any] = {}
    if target is not None:
        if target[0] not in TAGGABLE:
            return result
        classes = (target[0],)
        id_filter = {"_id": ObjectId(str(target[1]))}

    # (class, id) -> raw doc with tags and hidden-state fields
    tagged: dict[tuple[str, ObjectId], dict] = {}
    for class_name in classes:
        if target is None and preloaded and class_name in preloaded:
            for tid, doc in preloaded[class_name].items():
                if _has_ogp_tag(doc):
                    tagged[(class_name, tid)] = doc
            continue
        coll = raw_collection(target_model(class_name))
        projection = {"tags": 1, **{name: 1 for name in STATE_FIELDS[class_name].values()}}
        query = {"tags": {"$regex": f"^{TAG_PREFIX}"}, **id_filter}
        for doc in coll.find(query, projection):
            tagged[(class_name, doc["_id"])] = doc

    all_tags = {t for doc in tagged.values() for t in doc.get("tags") or [] if t.startswith("ogp-")}
    resolved = _resolve(all_tags)
    wanted: dict[tuple[ObjectId, str, ObjectId], str] = {}
    for (class_name, tid), doc in tagged.items():
        for tag in doc.get("tags") or []:
            if not tag.startswith(TAG_PREFIX):
                continue
            if tag in resolved:
                wanted[(resolved[tag], class_name, tid)] = tag
            else:
                result.unknown.append({"tag": tag, "class": class_name, "id": str(tid)})

    if links is None:
        links = _links_concerned(target, tagged)
    linked: set[tuple[ObjectId, str, ObjectId]] = set()
    stale_tag_links: dict[tuple[str, ObjectId], list[dict]] = defaultdict(list)
    for link in links:
        key = (link["commitment"], link["target_class"], link["target_id"])
        linked.add(key)
        if link.get("source") == "tag" and key not in wanted:
            stale_tag_links[(link["target_class"], link["target_id"])].append(link)

    _create(wanted, linked, tagged, result)
    _remove(stale_tag_links, tagged, result)
    result.commitments.update(
        ObjectId(item["commitment"]) for item in (*result.created, *result.removed)
    )
    for item in result.unknown:
        log.warning("Unknown OGP commitment tag %(tag)r on %(class)s %(id)s", item)
    return result


def _links_concerned(target, tagged) -> list[dict]:
    """Only the links that can matter: tag links (to remove) and any link of a tagged object (to
    not duplicate a manual link), not every link of the portal. Two plain queries rather than an
    `$or`, which some servers answer with a full scan."""
    fields = {"commitment": 1, "target_class": 1, "target_id": 1, "source": 1}
    coll = CommitmentLink._get_collection()
    if target is not None:
        queries = [{"target_class": target[0], "target_id": ObjectId(str(target[1]))}]
    else:
        queries = [{"source": "tag"}]
        tagged_ids = list({tid for _, tid in tagged})
        if tagged_ids:
            queries.append({"target_id": {"$in": tagged_ids}, "source": {"$ne": "tag"}})
    return [link for query in queries for link in coll.find(query, fields)]


def _create(wanted, linked, tagged, result: TagResult) -> None:
    from udata_ogp.actions import create_link

    missing = [key for key in wanted if key not in linked]
    if not missing:
        return
    commitments = {c.pk: c for c in Commitment.objects(id__in=list({k[0] for k in missing}))}
    for cid, class_name, tid in missing:
        item = {"tag": wanted[(cid, class_name, tid)], "class": class_name, "id": str(tid)}
        doc = tagged[(class_name, tid)]
        fields = STATE_FIELDS[class_name]
        if doc.get(fields["deleted"]) or doc.get(fields["private"]):
            # A hidden object does not get a new public link; its tag is kept for later.
            result.skipped.append({**item, "why": "hidden"})
            continue
        try:
            link = create_link(
                commitments[cid],
                target_class=class_name,
                target_id=tid,
                role="contributes",
                source="tag",
                check=False,
            )
        except OgpError as exc:
            result.skipped.append({**item, "why": str(exc)})
            continue
        result.created.append({**item, "commitment": str(cid)})
        result.created_ids.append(link.pk)


def _remove(stale_tag_links, tagged, result: TagResult) -> None:
    """Remove tag links whose tag disappeared; a hard-deleted target keeps its (gone) link."""
    from udata_ogp.actions import delete_link

    if not stale_tag_links:
        return
    by_class: dict[str, list[ObjectId]] = defaultdict(list)
    for class_name, tid in stale_tag_links:
        if (class_name, tid) not in tagged:
            by_class[class_name].append(tid)
    existing = set(tagged)
    for class_name, ids in by_class.items():
        coll = raw_collection(target_model(class_name))
        existing.update(
            (class_name, d["_id"]) for d in coll.find({"_id": {"$in": ids}}, {"_id": 1})
        )
    to_delete = [
        link["_id"] for key, links in stale_tag_links.items() if key in existing for link in links
    ]
    for link in CommitmentLink.objects(id__in=to_delete):
        delete_link(link, check=False)
        result.removed.append(
            {
                "class": link.target_class,
                "id": str(link.target_id),
                "commitment": str(link.commitment.pk),
            }
        )
