"""A pytest plugin for test suites that build libvirt domain XML (avocado-vt, tp-libvirt style).

Installed with virtaddr (entry point ``pytest11``), it gives every test:

* the fixture ``virtaddr_assign``: a function taking a domain (XML text or bytes, a
  :class:`pathlib.Path`, an lxml element) and returning the completed ``<domain>`` element,
  failing the test with libvirt's reasons when the domain has an address problem;
* the fixture ``virtaddr_domain``: the completed domain of the file named by the test's
  ``@pytest.mark.virtaddr_domain("FILE")`` marker (relative to the test file's directory);
* :func:`assert_same_addresses` (also the fixture ``virtaddr_same_addresses``): fails with one
  line per difference unless two domains have the same device addresses, compared as
  :func:`virtaddr.compare.address_differences` does.

Example::

    @pytest.mark.virtaddr_domain("guests/web.xml")
    def test_web_guest(virtaddr_domain, virtaddr_assign):
        built = build_domain_xml(disks=2)            # your code
        assert_same_addresses(virtaddr_domain, virtaddr_assign(built))

Which libvirt version's behaviour (``"9.0"``, ``"11.3"``; default the newest): the
``libvirt=`` argument of ``virtaddr_assign(domain, libvirt=...)``, else the marker's
``@pytest.mark.virtaddr_domain("FILE", libvirt="9.0")``, else the command line's
``--virtaddr-libvirt=VERSION``.

Loading the plugin imports neither lxml nor the passes: they load when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["DomainLike", "assert_same_addresses", "assigned_domain"]

DomainLike = Any
"""What the helpers accept: XML ``str``/``bytes``, a :class:`pathlib.Path`, an lxml element or
tree."""

MARKER = "virtaddr_domain"
OPTION = "--virtaddr-libvirt"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("virtaddr").addoption(
        OPTION,
        metavar="VERSION",
        default=None,
        help="the libvirt version whose address assignment virtaddr's fixtures reproduce "
        "(9.0 or 11.3; default: the newest)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(path, libvirt=None): the domain XML file the virtaddr_domain fixture assigns "
        "(relative to the test file), as the libvirt version given (default: "
        f"{OPTION}, else the newest)",
    )
    version = config.getoption(OPTION, None)
    if version is not None:
        from virtaddr.api import rules_for

        try:
            rules_for(version)
        except ValueError as exc:
            raise pytest.UsageError(f"{OPTION}: {exc}") from None


def assigned_domain(
    domain: DomainLike, *, source: str | None = None, libvirt: str | None = None
) -> etree._Element:
    """The completed ``<domain>`` element for ``domain`` as libvirt ``libvirt`` (default the
    newest) would complete it; fails the test on an address problem (each problem on its own
    line), an unusable input or an unsupported version."""
    __tracebackhide__ = True
    from virtaddr import api
    from virtaddr.api import UnusableInput

    try:
        root = _root(domain)
        result = api.assign_element(root, source=source or _name(domain), libvirt=libvirt)
    except ValueError as exc:  # an unsupported libvirt version
        pytest.fail(f"virtaddr: {exc}", pytrace=False)
    except UnusableInput as exc:
        pytest.fail(f"virtaddr: unusable domain: {exc}", pytrace=False)
    if result.xml is None:
        lines = "\n".join(problem.format() for problem in result.problems)
        pytest.fail(f"virtaddr: libvirt would reject the domain:\n{lines}", pytrace=False)
    return result.xml


def assert_same_addresses(expected: DomainLike, actual: DomainLike) -> None:
    """Fail unless ``actual`` has the device addresses (and controllers) of ``expected``.

    Both may be XML text or bytes, a :class:`pathlib.Path` or an lxml element; neither is
    assigned first (use :func:`assigned_domain` for that).
    """
    __tracebackhide__ = True
    from virtaddr.api import address_differences

    differences = address_differences(_root(expected), _root(actual))
    if differences:
        raise AssertionError(
            "the domains' addresses differ:\n" + "\n".join(f"  {d}" for d in differences)
        )


@pytest.fixture
def virtaddr_assign(request: pytest.FixtureRequest) -> Callable[..., etree._Element]:
    """A function: domain (XML, Path, element) → its completed ``<domain>`` element; its
    ``libvirt=`` wins over the marker's and the command line's version."""
    default = _version(request)

    def assign(
        domain: DomainLike, *, source: str | None = None, libvirt: str | None = None
    ) -> etree._Element:
        __tracebackhide__ = True
        return assigned_domain(domain, source=source, libvirt=libvirt or default)

    return assign


@pytest.fixture
def virtaddr_same_addresses() -> Callable[[DomainLike, DomainLike], None]:
    """:func:`assert_same_addresses`, as a fixture."""
    return assert_same_addresses


@pytest.fixture
def virtaddr_domain(request: pytest.FixtureRequest) -> etree._Element:
    """The completed domain of the file named by ``@pytest.mark.virtaddr_domain("FILE")``."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None or not marker.args:
        pytest.fail(f"virtaddr_domain needs @pytest.mark.{MARKER}('FILE')", pytrace=False)
    path = Path(marker.args[0])
    if not path.is_absolute():
        path = Path(request.node.path).parent / path
    return assigned_domain(path, libvirt=_version(request))


# ---------------------------------------------------------------------------- internals


def _root(domain: DomainLike) -> etree._Element:
    from lxml import etree

    from virtaddr import api

    if isinstance(domain, etree._ElementTree):
        return domain.getroot()
    if isinstance(domain, etree._Element):
        return domain
    if isinstance(domain, Path):
        return api.read_document(str(domain)).root
    if isinstance(domain, str | bytes):
        return api.parse_document(domain, "<string>").root
    raise TypeError(f"not a domain: {type(domain).__name__} (want XML, a Path or an element)")


def _version(request: pytest.FixtureRequest) -> str | None:
    """The marker's ``libvirt=``, else the command line's ``--virtaddr-libvirt``."""
    marker = request.node.get_closest_marker(MARKER)
    version = marker.kwargs.get("libvirt") if marker is not None else None
    chosen = version or request.config.getoption(OPTION, None)
    return None if chosen is None else str(chosen)


def _name(domain: DomainLike) -> str | None:
    return str(domain) if isinstance(domain, Path) else None
