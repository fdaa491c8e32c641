"""The plots' geometry: error bars on the meta-utility, a y-axis from its stated baseline, and a
bypass legend that covers no point, with 0% points drawn whole."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pytest

from stopbox.harness.reporting import _plots


def test_meta_utility_has_error_bars_and_starts_at_zero(report: dict[str, Any]) -> None:
    fig = _plots.meta_utility_figure(report["iterations"])
    assert fig is not None
    try:
        ax = fig.axes[0]
        assert ax.get_ylim()[0] == 0.0 and "from 0" in ax.get_ylabel()
        assert "0" in _plots.META_UTILITY_BASELINE_NOTE
        # one errorbar container per split, with bars of non-zero length (5 test values each)
        containers = [c for c in ax.containers if c.has_yerr]
        assert len(containers) == 2
        segments = containers[0].lines[2][0].get_segments()
        assert len(segments) == 3 and all(seg[1][1] > seg[0][1] for seg in segments)
    finally:
        plt.close(fig)


def test_bypass_legend_covers_no_point_and_zero_is_not_clipped(report: dict[str, Any]) -> None:
    fig = _plots.bypass_figure(report["iterations"])
    assert fig is not None
    try:
        fig.canvas.draw()
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent()
        axes_box = ax.get_window_extent()
        assert legend.x0 >= axes_box.x1  # outside, to the right of the plotting area
        assert ax.get_ylim()[0] < 0  # a 0% marker sits inside the axes, not on its edge
        markers = [c.lines[0] for c in ax.containers]
        assert markers and all(not m.get_clip_on() for m in markers)
        zeros = [y for m in markers for y in m.get_ydata() if y == 0]
        assert zeros  # the fixture has 0% points
    finally:
        plt.close(fig)


@pytest.mark.parametrize("fn", [_plots.meta_utility_figure, _plots.bypass_figure])
def test_no_figure_without_data(fn: Any) -> None:
    assert fn([]) is None
