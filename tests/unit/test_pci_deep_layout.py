"""The deep topology's layout search counts buses without building layouts: the count must be
the built layout's number of buses, for every demand (negative spare counts included)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from virtaddr.passes.pci_deep import _Demand, _layout_counts, _layout_for

demands = st.builds(
    _Demand,
    conventional=st.integers(0, 500),
    express=st.integers(0, 40) | st.integers(0, 5000),
    free_slots=st.integers(0, 64),
    free_ports=st.integers(-40, 40),
    root_functions=st.integers(-64, 248),
    has_conventional_bus=st.booleans(),
)


@settings(max_examples=500)
@given(
    demands,
    st.integers(0, 40) | st.integers(0, 5000),  # few ported devices: spare ports left over
    st.integers(0, 4),
    st.integers(-64, 248),
    st.integers(-40, 40),
)
def test_counts_are_the_layouts_buses(
    demand: _Demand, ported: int, extra_bridges: int, root_functions: int, free_ports: int
) -> None:
    layout = _layout_for(demand, ported, extra_bridges, root_functions, free_ports)
    counts = _layout_counts(demand, ported, extra_bridges, root_functions, free_ports)
    assert sum(counts) == layout.nbuses
    root_ports, pcie_to_pci, bridges, nswitches, downstream = counts
    assert (root_ports, pcie_to_pci, bridges) == (
        layout.root_ports,
        layout.pcie_to_pci,
        layout.bridges,
    )
    assert (nswitches, downstream) == (len(layout.switches), sum(layout.switches))
    assert all(0 < ports <= 32 for ports in layout.switches)
