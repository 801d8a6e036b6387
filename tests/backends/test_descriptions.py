"""A panel speaks its store's words before the store's driver is loaded.

Panels read ``Backend.words`` and ``Backend.language`` on the event loop
(the empty grid's hint, the query editor's name) before the connection,
made in a worker, has imported the backend's module. Importing a driver
there would stall the first frame (PostgreSQL's module with pglast and
psycopg takes ~250 ms), so the registry names light copies of both; these
tests hold the copies to the classes and the promise to load nothing.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from storescope import backends
from storescope.backends import _REGISTRY

URLS = {
    "postgresql": "postgresql://u@h/db",
    "postgres": "postgres://u@h/db",
    "mongodb": "mongodb://h/db",
    "mongodb+srv": "mongodb+srv://h/db",
    "redis": "redis://h/0",
    "rediss": "rediss://h/0",
    "s3": "s3://",
    "fake": "fake://demo",
    "memdocs": "memdocs://shop",
}


def test_every_scheme_has_a_url_here() -> None:
    assert set(URLS) == set(_REGISTRY)


@pytest.mark.parametrize("scheme", sorted(URLS))
@pytest.mark.parametrize("what", ["words", "language"])
def test_the_light_description_is_the_backends_own(scheme: str, what: str) -> None:
    url = URLS[scheme]
    entry = _REGISTRY[scheme]
    light = getattr(entry, what)
    if light:
        module, _, name = light.partition(":")
        copy = getattr(__import__(f"storescope.backends.{module}", fromlist=[name]), name)
    else:
        copy = backends.described(url, what)
    assert copy == getattr(backends.backend_class(url), what)


def test_describing_a_store_loads_no_driver() -> None:
    code = (
        "import sys\n"
        "from storescope.tui.widgets.store_words import words_of\n"
        "from storescope.tui.widgets.query.query_keys import language_of\n"
        "for url in ('postgresql://u@h/db', 'mongodb://h', 'redis://h/0', 's3://'):\n"
        "    words_of(url), language_of(url)\n"
        "assert words_of('postgresql://u@h/db').records == 'rows'\n"
        "assert language_of('postgresql://u@h/db').name == 'SQL'\n"
        "assert words_of('s3://').records == 'objects'\n"
        "heavy = {'psycopg', 'psycopg2', 'pglast', 'pymongo', 'redis', 'boto3', 'botocore'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
