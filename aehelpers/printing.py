"""How large a figure's text prints in the reports: measured, and enlarged where it would be small.

    printing.smallest_text_pt(fig)              # the smallest font size in fig, in pt
    printing.enlarge_text_for_print(fig, 0.8)   # printed at 80% of the text width: none under 8 pt

A report prints each figure at a share of an A4 page's text width (its `{width=NN%}`), so a
figure's 9 pt labels print smaller than 9 pt when the figure is wider than that share.
`plots.savefig(fig, name, print_width=...)` calls these before it writes the file.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt


def smallest_text_pt(fig) -> float:
    """The smallest font size (pt) of any visible, non-empty text in fig, at the figure's own size."""
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip()]
    return float(min(sizes, default=0.0))


PRINT_TEXT_WIDTH_IN = 6.5  # A4 less the reports' 2.2 cm margins
MIN_PRINT_PT = 8.3  # a little above the reports' 8 pt rule


def enlarge_text_for_print(fig, print_width: float) -> None:
    """Scale up fig's text so that none prints under 8 pt at print_width (share of an A4 page's
    text width); text already large enough keeps its size."""
    for _ in range(4):  # bigger labels widen the saved figure, so measure again
        fig.canvas.draw()
        bbox = fig.get_tightbbox(fig.canvas.get_renderer())
        saved_width = bbox.width + 2 * plt.rcParams["savefig.pad_inches"]  # tight bbox + pad
        shrink = print_width * PRINT_TEXT_WIDTH_IN / saved_width  # printed inches per figure inch
        need = MIN_PRINT_PT / shrink
        texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
        if all(t.get_fontsize() >= need - 0.05 for t in texts):
            return
        for t in texts:
            t.set_fontsize(max(t.get_fontsize(), need))
