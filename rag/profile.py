"""The domain profile: a place's vocabulary as data (`rag/profiles/*.yaml`), compiled once.

Engine code knows Chinese grammar — numbers, units, years, clauses. Which areas a figure can be
counted for, what their names are, which abbreviations mean which metric, which plan periods exist:
that is the profile's. Another zone in another city is another YAML file, not a code change.

>>> p = Profile.from_dict({"scopes": [
...     {"id": "zone", "label": "青禾高新区", "names": ["青禾高新区", "高新区"], "not_after": ["国家"]},
...     {"id": "city", "label": "临川市", "names": ["临川市"], "generic": ["全市"], "weak": ["临川"]}]})
>>> sorted(p.scopes_named("临川市和青禾高新区")), sorted(p.scopes_named("国家高新区")), p.scope_label("city")
(['city', 'zone'], [], '临川市')
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PROFILE = Path(__file__).resolve().parent / "profiles" / "kunshan.yaml"


# Characters of determiners and levels, never of an area's own name (各市, 全县, 本区, 国家级, 省级…): one each,
# as a set of characters, not words.
_NOT_IN_NAME = ("国", "各", "本", "该", "级", "其", "他", "外", "全", "省", "市", "县", "区")


def _alternation(words: list[str] | tuple[str, ...]) -> str:
    # Longest first: regex alternation takes the first alternative that matches.
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@dataclass(frozen=True)
class ScopeDef:
    """One area a figure can be counted for."""

    id: str
    label: str
    names: tuple[str, ...] = ()
    generic: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    not_after: tuple[str, ...] = ()
    not_before: tuple[str, ...] = ()
    bodies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    """A domain profile (see module docstring). Build with `load` or `from_dict`."""

    name: str = ""
    # How the answer prompt reminds the model which areas to keep apart, e.g. "（X区还是Y市）"; by default
    # the first two areas' labels.
    scope_hint: str = ""
    scopes: tuple[ScopeDef, ...] = ()
    places: tuple[str, ...] = ()
    place_suffixes: tuple[str, ...] = ()  # how names of areas end ("市", "开发区"): an unknown one is another area
    metric_synonyms: tuple[tuple[str, str], ...] = ()
    verb_synonyms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    typos: tuple[tuple[str, str], ...] = ()
    plan_periods: tuple[tuple[str, int, int], ...] = ()
    terms: tuple[str, ...] = ()
    metrics: tuple[tuple[str, tuple[str, ...]], ...] = ()
    digest: str = field(default="", compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], digest: str = "") -> Profile:
        scopes = tuple(
            ScopeDef(
                id=str(s["id"]),
                label=str(s.get("label") or s["names"][0]),
                **{
                    k: tuple(str(w) for w in s.get(k) or ())
                    for k in ("names", "generic", "weak", "not_after", "not_before", "bodies")
                },
            )
            for s in data.get("scopes") or ()
        )
        return cls(
            name=str(data.get("name", "")),
            scope_hint=str(
                data.get("scope_hint") or (f"（{scopes[0].label}还是{scopes[1].label}）" if len(scopes) > 1 else "")
            ),
            scopes=scopes,
            places=tuple(str(w) for w in data.get("places") or ()),
            place_suffixes=tuple(str(w) for w in data.get("place_suffixes") or ()),
            metric_synonyms=tuple((str(k), str(v)) for k, v in (data.get("metric_synonyms") or {}).items()),
            verb_synonyms=tuple(
                (str(k), tuple(str(w) for w in v)) for k, v in (data.get("verb_synonyms") or {}).items()
            ),
            typos=tuple((str(k), str(v)) for k, v in (data.get("typos") or {}).items()),
            plan_periods=tuple((str(k), int(v[0]), int(v[1])) for k, v in (data.get("plan_periods") or {}).items()),
            terms=tuple(str(w) for w in data.get("terms") or ()),
            metrics=tuple(
                (str(k), tuple(str(a) for a in [k, *(v or ())])) for k, v in (data.get("metrics") or {}).items()
            ),
            digest=digest,
        )

    # ------------------------------------------------------------------ scopes
    @cached_property
    def _scope_rx(self) -> dict[str, re.Pattern[str]]:
        """Per scope, a pattern for its strong mentions (names and generic words), exclusions applied."""
        out = {}
        others = [n for s in self.scopes for n in s.names]
        for s in self.scopes:
            parts = []
            body = rf"(?![\u4e00-\u9fff]{{0,8}}?(?:{_alternation(s.bodies)}))" if s.bodies else ""
            if s.not_before:
                body += f"(?!{_alternation(s.not_before)})"
            guard = "".join(f"(?<!{re.escape(w)})" for w in s.not_after)
            if s.names:
                parts.append(f"{guard}(?:{_alternation(s.names)}){body}")
            if s.generic:
                parts.append(f"(?:{_alternation(s.generic)})")
            if s.weak:
                # A bare name is the area only when no longer name of any scope starts with it.
                longer = [n for n in others if any(n.startswith(w) and n != w for w in s.weak)]
                ahead = f"(?!{_alternation([n[len(w) :] for n in longer for w in s.weak if n.startswith(w)])})"
                parts.append(f"(?:{_alternation(s.weak)}){ahead if longer else ''}{body}")
            out[s.id] = re.compile("|".join(parts) or r"(?!)")
        return out

    @cached_property
    def _strong_rx(self) -> dict[str, re.Pattern[str]]:
        """As `_scope_rx` without the weak names."""
        out = {}
        for s in self.scopes:
            weakless = ScopeDef(s.id, s.label, s.names, s.generic, (), s.not_after, s.not_before, s.bodies)
            out[s.id] = Profile(scopes=(weakless,))._scope_rx[s.id]
        return out

    def scope_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.scopes)

    def scope_label(self, scope_id: str) -> str:
        return next((s.label for s in self.scopes if s.id == scope_id), scope_id)

    def scope_mentions(self, text: str, strong_only: bool = False, home: str = "") -> list[tuple[int, int, str]]:
        """(start, end, scope id) of every mention, in order; a longer mention hides those inside it.

        A generic word several areas list ("全市" of a county-level city and of a prefecture) names the
        document's own area, `home`, when that is one of them, else the first area listing it.

        >>> p = Profile.from_dict({"scopes": [{"id": "c", "label": "临川市", "generic": ["全市"]},
        ...                                   {"id": "p", "label": "江州市", "generic": ["全市"]}]})
        >>> p.scope_mentions("全市"), p.scope_mentions("全市", home="p")
        ([(0, 2, 'c')], [(0, 2, 'p')])
        """
        rx = self._strong_rx if strong_only else self._scope_rx
        order = {sid: i for i, sid in enumerate(rx)}
        found = sorted(
            ((m.start(), m.end(), sid) for sid, r in rx.items() for m in r.finditer(text) if m.end() > m.start()),
            key=lambda t: (t[0], -(t[1] - t[0]), t[2] != home, order[t[2]]),
        )
        out: list[tuple[int, int, str]] = []
        for a, b, sid in found:
            if out and a < out[-1][1]:
                continue
            out.append((a, b, sid))
        return out

    def scopes_named(self, text: str, strong_only: bool = False, home: str = "") -> set[str]:
        """Scope ids `text` names (`home`: the document's own area, see `scope_mentions`)."""
        return {sid for _, _, sid in self.scope_mentions(text, strong_only, home)}

    def named_scope(self, text: str) -> str:
        """The first area `text` names by one of its names (not a generic word, not a weak name); '' if none."""
        generic = {w for s in self.scopes for w in s.generic}
        return next((sid for a, b, sid in self.scope_mentions(text, strong_only=True) if text[a:b] not in generic), "")

    def strip_scopes(self, text: str, strong_only: bool = False) -> str:
        """`text` with every scope mention blanked (one space each)."""
        for a, b, _ in reversed(self.scope_mentions(text, strong_only)):
            text = text[:a] + " " + text[b:]
        return text

    def other_place(self, text: str) -> bool:
        """Whether `text` names an area the profile does not know ("东湖市"): two characters and a place
        suffix, not a category ("国家高新区") nor a determiner's ("各市").

        >>> p = Profile.from_dict({"scopes": [{"id": "z", "names": ["高新区"], "not_after": ["国家"]}],
        ...                        "place_suffixes": ["市", "高新区"]})
        >>> p.other_place("东湖市用电量多少"), p.other_place("国家高新区有几个"), p.other_place("各市排名")
        (True, False, False)
        """
        if not self.place_suffixes:
            return False
        # Two characters that are no determiner or level (各, 本, 全, 国, 级…) before a suffix, at a word's start.
        head = rf"(?:^|(?<=[\s，,、和与及跟在]))[^\W\d{''.join(_NOT_IN_NAME)}]{{2}}"
        return bool(re.search(rf"{head}(?:{_alternation(self.place_suffixes)})", self.strip_scopes(text)))

    def scope_names(self) -> tuple[str, ...]:
        """Every name of every scope (for literal checks and stopwords)."""
        return tuple(n for s in self.scopes for n in (*s.names, *s.generic, *s.weak))

    # ------------------------------------------------------------------ words
    def expand_metrics(self, text: str) -> str:
        """Abbreviations replaced by the documents' wording (GDP → 地区生产总值)."""
        for short, full in self.metric_synonyms:
            if short in text and full not in text:
                text = text.replace(short, full)
        return text

    def metric_expansions(self, text: str) -> list[str]:
        """The documents' wording for abbreviations `text` uses and does not already spell out."""
        return list(dict.fromkeys(full for short, full in self.metric_synonyms if short in text and full not in text))

    def metric_of(self, words: str) -> str:
        """The canonical metric whose longest alias occurs in `words` ('' when none does). In "A占B比重" the
        figure measures A's share, so A's words (with 占) are read first: B is only the base."""
        share = words.find("占")
        if share > 0 and words[: share + 1] != words:
            found = self.metric_of(words[: share + 1])
            if found:
                return found
        best, size = "", 0
        for canon, aliases in self.metrics:
            for a in aliases:
                if a in words and len(a) > size:
                    best, size = canon, len(a)
        return best

    def canonical_verbs(self, text: str) -> str:
        for canon, variants in self.verb_synonyms:
            text = re.sub(_alternation(variants), canon, text) if variants else text
        return text

    def fix_typos(self, text: str) -> str:
        for wrong, right in self.typos:
            text = text.replace(wrong, right)
        return text

    @cached_property
    def plan_rx(self) -> re.Pattern[str]:
        return re.compile(_alternation([p for p, _, _ in self.plan_periods]) or r"(?!)")

    def plan_years(self, name: str) -> tuple[int, int] | None:
        return next(((a, b) for p, a, b in self.plan_periods if p == name), None)

    def next_plan(self, name: str) -> str:
        """The plan period after `name` ('' when the profile knows none)."""
        names = [p for p, _, _ in sorted(self.plan_periods, key=lambda t: t[1])]
        return names[names.index(name) + 1] if name in names and names.index(name) + 1 < len(names) else ""

    def dictionary(self) -> tuple[str, ...]:
        """Words a segmenter should keep whole: the profile's terms, place names and plan periods."""
        return tuple(dict.fromkeys([*self.terms, *self.scope_names(), *(p for p, _, _ in self.plan_periods)]))

    def vocabulary(self) -> tuple[str, ...]:
        """Every literal of this profile that names its world (engine code must name none of them)."""
        words = [*self.scope_names(), *(s.label for s in self.scopes), *self.places]
        words += [w for pair in self.typos for w in pair] + [p for p, _, _ in self.plan_periods]
        return tuple(w for w in dict.fromkeys(words) if len(w) >= 2)


def load(path: str | Path) -> Profile:
    """Read a profile YAML file (safe loader); its sha256 becomes `Profile.digest`."""
    raw = Path(path).read_bytes()
    data = yaml.safe_load(raw.decode("utf-8")) or {}
    if not isinstance(data, dict) or not data.get("scopes"):
        raise ValueError(f"domain profile {path} has no scopes")
    return Profile.from_dict(data, digest=hashlib.sha256(raw).hexdigest()[:16])


_active: Profile | None = None
_lock = threading.Lock()


def active() -> Profile:
    """The profile in force (the default one until `activate` names another)."""
    global _active
    with _lock:
        if _active is None:
            from rag.settings import Settings

            _active = load(Settings().profile)
        return _active


def activate(profile: Profile | str | Path) -> Profile:
    """Make `profile` (or the file it names) the one every stage reads; returns it."""
    global _active
    p = profile if isinstance(profile, Profile) else load(profile)
    with _lock:
        _active = p
    return p
