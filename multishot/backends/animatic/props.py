"""An insert's close-up: the object named by the action, and the holder's sleeve and hand."""

from __future__ import annotations

from .colours import mix, shade
from .figures import Painter
from .staging import Prop, prop_colours

Box = tuple[float, float, float, float]


def holder_box(W: int, Hp: int) -> Box:
    """World box of the holder's sleeve and hand (what character_boxes reports for an insert)."""
    return (0.51 * W, 0.47 * Hp, 1.25 * W, 0.95 * Hp)


def draw_prop(pt: Painter, prop: Prop, W: int, Hp: int) -> None:
    cx, cy, s = 0.44 * W, 0.5 * Hp, 0.5 * Hp * prop.scale
    main, detail = prop_colours(prop.kind, prop.colour)
    k = prop.kind
    if k in ("letter", "photo"):
        pt.polygon([(cx - 0.75 * s, cy - 0.45 * s), (cx + 0.7 * s, cy - 0.55 * s),
                    (cx + 0.78 * s, cy + 0.45 * s), (cx - 0.68 * s, cy + 0.55 * s)], main)
        if k == "letter":
            for i in range(5):
                y = cy - 0.3 * s + i * 0.14 * s
                pt.line([(cx - 0.55 * s, y + 0.02 * s), (cx + 0.5 * s, y - 0.05 * s)], detail, max(1, round(0.02 * s)))
        else:
            pt.polygon([(cx - 0.62 * s, cy - 0.33 * s), (cx + 0.58 * s, cy - 0.42 * s),
                        (cx + 0.64 * s, cy + 0.33 * s), (cx - 0.56 * s, cy + 0.42 * s)], detail)
    elif k == "lens":  # concentric Fresnel rings, brightening towards the centre
        for i, f in enumerate((1.0, 0.82, 0.64, 0.46, 0.28)):
            pt.ellipse(cx - f * s, cy - f * s, cx + f * s, cy + f * s, mix(main, detail, 0.2 * i))
    elif k == "lantern":
        pt.ellipse(cx - 0.8 * s, cy - 0.8 * s, cx + 0.8 * s, cy + 0.8 * s, shade(main, 0.75))
        pt.rect(cx - 0.3 * s, cy - 0.45 * s, cx + 0.3 * s, cy + 0.5 * s, main)
        pt.rect(cx - 0.38 * s, cy + 0.45 * s, cx + 0.38 * s, cy + 0.6 * s, detail)
        pt.polygon([(cx - 0.38 * s, cy - 0.45 * s), (cx, cy - 0.75 * s), (cx + 0.38 * s, cy - 0.45 * s)], detail)
    elif k == "key":
        pt.ellipse(cx - 0.7 * s, cy - 0.25 * s, cx - 0.2 * s, cy + 0.25 * s, main)
        pt.ellipse(cx - 0.55 * s, cy - 0.1 * s, cx - 0.35 * s, cy + 0.1 * s, detail)
        pt.rect(cx - 0.22 * s, cy - 0.06 * s, cx + 0.7 * s, cy + 0.06 * s, main)
        pt.rect(cx + 0.45 * s, cy + 0.05 * s, cx + 0.53 * s, cy + 0.2 * s, main)
        pt.rect(cx + 0.6 * s, cy + 0.05 * s, cx + 0.68 * s, cy + 0.25 * s, main)
    elif k == "cup":
        pt.ellipse(cx + 0.2 * s, cy - 0.25 * s, cx + 0.65 * s, cy + 0.25 * s, main)
        pt.rect(cx - 0.45 * s, cy - 0.45 * s, cx + 0.35 * s, cy + 0.5 * s, main)
        pt.ellipse(cx - 0.45 * s, cy - 0.55 * s, cx + 0.35 * s, cy - 0.35 * s, detail)
    elif k == "phone":
        pt.rect(cx - 0.32 * s, cy - 0.6 * s, cx + 0.32 * s, cy + 0.6 * s, main)
        pt.rect(cx - 0.26 * s, cy - 0.5 * s, cx + 0.26 * s, cy + 0.5 * s, detail)
    elif k == "book":
        pt.rect(cx - 0.7 * s, cy - 0.5 * s, cx + 0.7 * s, cy + 0.5 * s, detail)
        pt.rect(cx - 0.72 * s, cy - 0.46 * s, cx - 0.02 * s, cy + 0.5 * s, main)
        pt.rect(cx + 0.02 * s, cy - 0.46 * s, cx + 0.72 * s, cy + 0.5 * s, main)
    elif k == "ring":
        pt.ellipse(cx - 0.45 * s, cy - 0.45 * s, cx + 0.45 * s, cy + 0.45 * s, main)
        pt.ellipse(cx - 0.3 * s, cy - 0.3 * s, cx + 0.3 * s, cy + 0.3 * s, detail)
    else:
        pt.rect(cx - 0.5 * s, cy - 0.4 * s, cx + 0.5 * s, cy + 0.4 * s, main)
        pt.rect(cx - 0.5 * s, cy - 0.4 * s, cx + 0.5 * s, cy - 0.25 * s, detail)
    if prop.holder is not None:  # the sleeve enters from the right, the hand holds the object
        st = prop.holder.style
        x0, y0, x1, y1 = holder_box(W, Hp)
        pt.polygon([(x1, 0.62 * Hp), (0.66 * W, 0.52 * Hp), (0.62 * W, 0.72 * Hp), (x1, y1)], st.body)
        pt.rect(0.62 * W, 0.5 * Hp, 0.67 * W, 0.74 * Hp, shade(st.body, 0.8))
        pt.ellipse(x0 + 0.02 * W, 0.54 * Hp, 0.64 * W, 0.7 * Hp, st.skin)
        pt.ellipse(x0, y0, x0 + 0.06 * W, 0.58 * Hp, st.skin)
