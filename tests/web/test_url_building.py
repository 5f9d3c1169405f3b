"""web/__init__.py `LazyRule`: the app's rules compile their URL builders when a URL is first built, not when
they are added. Every rule of the app builds, with the same values, the URL Werkzeug's own rule builds (its
builders compiled at once, as Werkzeug does); the pages' tests follow their links."""
from __future__ import annotations

from werkzeug.routing import Map, Rule

from web import LazyRule

#: a value for each converter the app's rules use (web/inputs.py: `int` is a bounded record id)
SAMPLES = {"RecordIdConverter": 7, "IntegerConverter": 7, "UnicodeConverter": "A05", "PathConverter": "a/b.js",
           "UUIDConverter": "6f1c2c8e-8a4b-4f2e-9d3c-1b2a3c4d5e6f"}


def test_every_rule_builds_the_url_werkzeugs_own_rule_builds(app):
    rules = list(app.url_map.iter_rules())
    assert rules and all(type(rule) is LazyRule for rule in rules)
    eager = Map([Rule(rule.rule, endpoint=rule.endpoint, methods=rule.methods, defaults=rule.defaults)
                 for rule in rules], converters=app.url_map.converters)
    ours, theirs = app.url_map.bind("eventflow.test"), eager.bind("eventflow.test")
    for rule in rules:
        values = {name: SAMPLES[type(converter).__name__] for name, converter in rule._converters.items()}
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        extra = {"page": 2, "rule": "x", "self": "y"}        # not in the rule: the query string
        assert ours.build(rule.endpoint, {**values, **extra}, method=method) == \
            theirs.build(rule.endpoint, {**values, **extra}, method=method), rule.rule

