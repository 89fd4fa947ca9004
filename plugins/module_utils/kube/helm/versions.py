# -*- coding: utf-8 -*-
# Copyright: mlplatform.selfhosted contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Kubernetes and Helm version strings, and ranges such as ``>=1.24,<1.33``."""

from __future__ import annotations

import re

_VERSION = re.compile(r"^v?(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?(?:[-+].*)?$")
_CLAUSE = re.compile(r"^(?P<op>>=|<=|==|!=|>|<|=)?\s*(?P<version>v?\d+(?:\.\d+){0,2}(?:[-+][0-9A-Za-z.+-]*)?)$")

_COMPARE = {
    ">=": lambda have, want: have >= want,
    ">": lambda have, want: have > want,
    "<=": lambda have, want: have <= want,
    "<": lambda have, want: have < want,
    "==": lambda have, want: have == want,
    "=": lambda have, want: have == want,
    "!=": lambda have, want: have != want,
}


class VersionRangeError(ValueError):
    """A version or range that cannot be parsed."""


def parse_version(text):
    """``v1.30.6-eks-1234`` -> ``(1, 30, 6)``; pre-release and build suffixes are ignored."""
    match = _VERSION.match(str(text).strip())
    if not match:
        raise VersionRangeError("not a version: %r" % (text,))
    return tuple(int(match.group(part) or 0) for part in ("major", "minor", "patch"))


def parse_range(text):
    """Parse a comma- or space-separated list of clauses, all of which must hold.

    Returns a list of ``(operator, version tuple, precision)``. A bare version means ``==``. A clause
    compares only as many components as it names, so ``<=1.32`` admits 1.32.5 and ``==1.30``
    admits every 1.30 patch release.
    """
    clauses = [part for part in re.split(r"[,\s]+", str(text).strip()) if part]
    # Re-join an operator written apart from its version (">= 1.24").
    joined = []
    for part in clauses:
        if joined and joined[-1] in _COMPARE:
            joined[-1] += part
        else:
            joined.append(part)
    if not joined:
        raise VersionRangeError("empty version range")
    parsed = []
    for clause in joined:
        match = _CLAUSE.match(clause)
        if not match:
            raise VersionRangeError("cannot parse %r in version range %r" % (clause, text))
        version = match.group("version")
        precision = len(re.split(r"[-+]", version.lstrip("v"))[0].split("."))
        parsed.append((match.group("op") or "==", parse_version(version), precision))
    return parsed


def version_in_range(version, range_text):
    """True when version satisfies every clause of range_text."""
    have = parse_version(version)
    return all(_COMPARE[op](have[:precision], want[:precision]) for op, want, precision in parse_range(range_text))
