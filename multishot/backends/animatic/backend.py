"""The animatic backend: a deterministic CPU previz that draws what the shot list says.

Per shot, the world (location + figures) is drawn once on a canvas large enough for the whole
camera move; each frame is then one `cv2.warpAffine` of that canvas (plus a second, small warp
of the figure layer when the move has parallax), a few thousand rain pixels, and a pre-rendered
caption strip. That keeps a frame well under the cost of encoding it, which is the point: the
animatic is the default backend and must never be the bottleneck of a render.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Sequence

import cv2
import numpy as np
from PIL import Image, ImageFilter

from ..base import Capability, Frame, ShotRequest, implemented
from .camera import camera_path, map_box, view_extents
from .caption import caption_height, draw_progress, font_id, render_strip
from .figures import Painter, draw_figure, figure_box, character_signature as _signature
from .scenery import draw_background
from .props import draw_prop, holder_box
from .staging import Stage, label_font, stage_shot
from .weather import Precipitation

#: Bump whenever drawing changes: it is part of every cached artifact's key.
VERSION = "2.0.0"

Box = tuple[float, float, float, float]
IntBox = tuple[int, int, int, int]


def _union(boxes: list[Box]) -> Box | None:
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _int_rect(box: Box, W: int, Hp: int) -> tuple[int, int, int, int]:
    """Pad, round outwards, and bound (a far zoom-out replicates the border instead)."""
    x0, y0, x1, y1 = box
    x0, y0 = max(math.floor(x0) - 2, -3 * W), max(math.floor(y0) - 2, -3 * Hp)
    x1, y1 = min(math.ceil(x1) + 3, 4 * W), min(math.ceil(y1) + 3, 4 * Hp)
    return (x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))


def _at_canvas(maps: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """World->picture maps re-based to a canvas whose (0, 0) is world (rect[0], rect[1])."""
    out = maps.copy()
    out[:, :, 2] += maps[:, :, 0] * rect[0] + maps[:, :, 1] * rect[1]
    return out


class ShotRender:
    """One shot's geometry (cheap, eager) and pixels (drawn on the first frame asked for)."""

    def __init__(self, req: ShotRequest) -> None:
        if req.width < 2 or req.height < 2 or req.num_frames < 1:
            raise ValueError(f"shot {req.layout.shot_id!r}: need width, height >= 2 and num_frames >= 1, "
                             f"got {req.width}x{req.height}, {req.num_frames} frames")
        self.req = req
        self.W, self.H, self.n = req.width, req.height, req.num_frames
        self.cap_h = caption_height(self.H)
        self.Hp = self.H - self.cap_h
        lay = req.layout
        self.stage: Stage = stage_shot(lay, self.W, self.Hp)
        self.path = camera_path(lay.movement, self.n, req.fps, req.seed, lay.shot_id, self.W, self.Hp,
                                zoom=lay.zoom, dutch_deg=self.stage.dutch_deg)
        self.world_boxes: dict[str, Box] = {}
        for fig in self.stage.figures:
            if self.stage.prop is not None:
                self.world_boxes[fig.char_id] = holder_box(self.W, self.Hp)
            else:
                self.world_boxes[fig.char_id] = figure_box(fig.style, fig.placement)
        self._ready = False

    # -- geometry ---------------------------------------------------------------------------

    def _near_content(self) -> Box | None:
        """World box of everything on the figure layer (figures, labels, shoulder, prop)."""
        W, Hp, st = self.W, self.Hp, self.stage
        boxes = list(self.world_boxes.values())
        font = label_font(st.label_px)
        for fig in st.figures:
            if st.prop is None:
                lx, ly = fig.label_xy
                boxes.append((lx - 2, ly - 2, lx + font.getlength(fig.char_id) + 4, ly + 1.5 * st.label_px + 4))
        if st.shoulder is not None:
            boxes.append((-0.2 * W, 0.1 * Hp, 1.2 * W, 1.8 * Hp) if st.shoulder.side else (0, 0, W, Hp))
        if st.prop is not None:
            boxes.append((0.0, 0.0, 1.3 * W, Hp))
        return _union(boxes)

    def boxes(self, i: int) -> dict[str, IntBox]:
        """Visible characters' boxes in frame `i`, in output pixels, clipped to the picture."""
        out: dict[str, IntBox] = {}
        m = self.path.fg[i]
        for cid, box in self.world_boxes.items():
            x0, y0, x1, y1 = map_box(m, box)
            x0, y0 = max(0, math.floor(x0)), max(0, math.floor(y0))
            x1, y1 = min(self.W, math.ceil(x1)), min(self.Hp, math.ceil(y1))
            if x1 - x0 >= 1 and y1 - y0 >= 1:
                out[cid] = (x0, y0, x1, y1)
        return out

    # -- pixels -----------------------------------------------------------------------------

    def _prepare(self) -> None:
        W, Hp, st = self.W, self.Hp, self.stage
        near = self._near_content()
        self.parallax = self.path.parallax and near is not None
        bg_rect = _int_rect(view_extents(self.path.bg, W, Hp), W, Hp)
        bg = draw_background(st.look, bg_rect, W, Hp, st.horizon, st.blur, st.yaw)
        self.fg4: np.ndarray | None = None
        if not self.parallax:
            self._draw_near(bg, None, bg_rect)
            self.canvas = bg
        else:
            seen = view_extents(self.path.fg, W, Hp)
            assert near is not None
            box = (max(seen[0], near[0]), max(seen[1], near[1]), min(seen[2], near[2]), min(seen[3], near[3]))
            self.canvas = bg
            if box[2] > box[0] and box[3] > box[1]:
                fg_rect = _int_rect(box, W, Hp)
                rgb = np.zeros((fg_rect[3] - fg_rect[1], fg_rect[2] - fg_rect[0], 3), np.uint8)
                mask = np.zeros(rgb.shape[:2], np.uint8)
                self._draw_near(rgb, mask, fg_rect)
                self.fg4 = np.ascontiguousarray(np.dstack([rgb, mask]))
                self.fg_maps = _at_canvas(self.path.fg, fg_rect)
                self.fg_rect = fg_rect
        # 4-channel buffers: opencv's warp is about twice as fast on 4 channels as on 3 (SIMD
        # lanes), and preallocated scratch keeps page faults out of the per-frame loop.
        self.canvas = cv2.cvtColor(self.canvas, cv2.COLOR_RGB2RGBA)
        self._buf4 = np.empty((Hp, W, 4), np.uint8)
        if self.fg4 is not None:
            self._rgb = np.empty((Hp, W, 3), np.uint8)
            self._mask = np.empty((Hp, W), np.uint8)
        self.bg_maps = _at_canvas(self.path.bg, bg_rect)
        self.still = bool(np.allclose(self.path.bg, self.path.bg[0])) and not self.parallax
        self._still_pic: np.ndarray | None = None
        self.strip = render_strip(self.req.layout, W, self.cap_h)
        self.precip = Precipitation(st.look, W, Hp, self.req.fps, self.req.seed, self.req.layout.shot_id)
        self._ready = True

    def _draw_near(self, rgb: np.ndarray, mask: np.ndarray | None, rect: tuple[int, int, int, int]) -> None:
        """Figures, labels, insert prop and OTS shoulder onto `rgb` (and `mask`), in place."""
        st = self.stage
        img = Image.fromarray(rgb)
        mimg = Image.fromarray(mask) if mask is not None else None
        pt = Painter(img, mimg, (rect[0], rect[1]))
        if st.prop is not None:
            draw_prop(pt, st.prop, self.W, self.Hp)
        else:
            font = label_font(st.label_px)
            for fig in st.figures:
                draw_figure(pt, fig.style, fig.placement)
            sw = max(1, st.label_px // 8)
            for fig in st.figures:
                pt.text(fig.label_xy[0], fig.label_xy[1], fig.char_id, font, (250, 250, 245), (20, 20, 24), sw)
        rgb[:] = np.asarray(img)
        if mask is not None and mimg is not None:
            mask[:] = np.asarray(mimg)
        if st.shoulder is not None:
            self._draw_shoulder(rgb, mask, rect)

    def _draw_shoulder(self, rgb: np.ndarray, mask: np.ndarray | None, rect: tuple[int, int, int, int]) -> None:
        """A dark, out-of-focus shoulder and back of head in the near foreground."""
        W, Hp, sh = self.W, self.Hp, self.stage.shoulder
        assert sh is not None
        s = sh.side
        alpha = Image.new("L", (rgb.shape[1], rgb.shape[0]), 0)
        pt = Painter(alpha, None, (rect[0], rect[1]))
        hx, hr = W * (0.5 + s * 0.36), 0.2 * Hp
        pt.ellipse(W * (0.5 + s * 0.45) - 0.38 * W, 0.64 * Hp, W * (0.5 + s * 0.45) + 0.38 * W, 1.9 * Hp, 255)  # type: ignore[arg-type]
        pt.rect(hx - 0.5 * hr, 0.5 * Hp, hx + 0.5 * hr, 0.9 * Hp, 255)  # type: ignore[arg-type]
        pt.ellipse(hx - hr, 0.18 * Hp, hx + hr, 0.66 * Hp, 255)  # type: ignore[arg-type]
        # The head in their hair (or hat) colour over the body colour: whose shoulder it is.
        head = Image.new("L", alpha.size, 0)
        Painter(head, None, (rect[0], rect[1])).ellipse(hx - hr, 0.18 * Hp, hx + hr, 0.66 * Hp, 255)  # type: ignore[arg-type]
        blur = ImageFilter.GaussianBlur(max(1.0, 0.02 * W))
        a = np.asarray(alpha.filter(blur), np.float32)[..., None] / 255.0
        ah = np.asarray(head.filter(blur), np.float32)[..., None] / 255.0
        col = np.asarray(sh.colour, np.float32) * (1 - ah) + np.asarray(sh.head, np.float32) * ah
        rgb[:] = (rgb.astype(np.float32) * (1 - a) + col * a + 0.5).astype(np.uint8)
        if mask is not None:
            mask[:] = np.maximum(mask, (a[..., 0] > 0.5).astype(np.uint8) * 255)

    def frame(self, i: int) -> Frame:
        if not self._ready:
            self._prepare()
        W, Hp = self.W, self.Hp
        out = np.empty((self.H, W, 3), np.uint8)
        pic = out[:Hp]
        if self.still and self._still_pic is not None:
            np.copyto(pic, self._still_pic)
        else:
            cv2.warpAffine(self.canvas, self.bg_maps[i], (W, Hp), dst=self._buf4, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
            cv2.cvtColor(self._buf4, cv2.COLOR_RGBA2RGB, dst=pic)
            if self.still:
                self._still_pic = pic.copy()
        if self.parallax and self.fg4 is not None:
            self._composite_near(pic, i)
        self.precip.apply(pic, i)
        if self.cap_h:
            strip = out[Hp:]
            strip[:] = self.strip
            draw_progress(strip, i, self.n)
        return out

    def _composite_near(self, pic: np.ndarray, i: int) -> None:
        """Warp only the part of the figure layer that lands in the picture, then copy it in."""
        assert self.fg4 is not None
        m = self.fg_maps[i]
        h, w = self.fg4.shape[:2]
        x0, y0, x1, y1 = map_box(m, (0, 0, w, h))
        rx0, ry0 = max(0, math.floor(x0)), max(0, math.floor(y0))
        rx1, ry1 = min(self.W, math.ceil(x1)), min(self.Hp, math.ceil(y1))
        if rx1 <= rx0 or ry1 <= ry0:
            return
        mr = m.copy()
        mr[0, 2] -= rx0
        mr[1, 2] -= ry0
        rw, rh = rx1 - rx0, ry1 - ry0
        roi, rgb, mask = self._buf4[:rh, :rw], self._rgb[:rh, :rw], self._mask[:rh, :rw]
        cv2.warpAffine(self.fg4, mr, (rw, rh), dst=roi, flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
        cv2.cvtColor(roi, cv2.COLOR_RGBA2RGB, dst=rgb)
        cv2.extractChannel(roi, 3, dst=mask)
        cv2.threshold(mask, 127, 255, cv2.THRESH_BINARY, dst=mask)
        cv2.copyTo(rgb, mask, pic[ry0:ry1, rx0:rx1])


def _as_rgb(img: Frame, W: int, H: int) -> np.ndarray:
    """A conditioning image as (H, W, 3) uint8 at the request's size."""
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.stack([a] * 3, axis=-1)
    a = a[..., :3]
    if a.shape[:2] != (H, W):
        a = cv2.resize(a, (W, H), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(a)


def _conditioned(frames: Iterator[Frame], n: int, first: np.ndarray | None, last: np.ndarray | None) -> Iterator[Frame]:
    """Cross-fade the rendered motion toward `first` at the start and `last` at the end.

    Frame 0 is exactly `first` and frame n-1 exactly `last`; the weights fade linearly over the
    first/last quarter of the shot, so conditioning visibly reaches the output.
    """
    ramp = max(1, math.ceil(0.25 * (n - 1)))
    for i, f in enumerate(frames):
        wf = max(0.0, 1.0 - i / ramp) if first is not None else 0.0
        wl = max(0.0, 1.0 - (n - 1 - i) / ramp) if last is not None and n > 1 else 0.0
        if wf >= 1.0 and first is not None:
            yield first.copy()
        elif wl >= 1.0 and last is not None:
            yield last.copy()
        elif wf + wl <= 0.0:
            yield f
        else:
            if wf + wl > 1.0:
                wf, wl = wf / (wf + wl), wl / (wf + wl)
            acc = f.astype(np.float32) * (1.0 - wf - wl)
            if first is not None and wf:
                acc += first.astype(np.float32) * wf
            if last is not None and wl:
                acc += last.astype(np.float32) * wl
            yield np.clip(acc + 0.5, 0, 255).astype(np.uint8)


class AnimaticBackend:
    """Deterministic CPU previz; no weights. See the module docstring for how it stays fast."""

    name = "animatic"

    @property
    def capabilities(self) -> frozenset[Capability]:
        """Every capability the animatic has a method for (base.implemented), read off the
        class so the set cannot name one it lacks: it draws staging and reads no reference
        images, so it has no `reference_to_video`."""
        return implemented(self)

    def identity(self) -> dict[str, Any]:
        import PIL

        return {"backend": self.name, "version": VERSION, "font": font_id(),
                "pillow": PIL.__version__, "opencv": cv2.__version__}

    def _render(self, req: ShotRequest) -> Iterator[Frame]:
        shot = ShotRender(req)  # validates eagerly, draws lazily
        return (shot.frame(i) for i in range(req.num_frames))

    def text_to_video(self, req: ShotRequest) -> Iterator[Frame]:
        return self._render(req)

    def text_to_image(self, req: ShotRequest) -> Frame:
        return next(self._render(req))

    def image_to_video(self, req: ShotRequest, first: Frame) -> Iterator[Frame]:
        a = _as_rgb(first, req.width, req.height)
        return _conditioned(self._render(req), req.num_frames, a, None)

    def first_last_to_video(self, req: ShotRequest, first: Frame, last: Frame) -> Iterator[Frame]:
        a = _as_rgb(first, req.width, req.height)
        b = _as_rgb(last, req.width, req.height)
        return _conditioned(self._render(req), req.num_frames, a, b)

    def joint_shots(self, reqs: Sequence[ShotRequest], memory: Any = None) -> list[list[Frame]]:
        """Each shot rendered honestly on its own: the animatic has no cross-shot attention; its
        continuity comes from drawing the same location and characters the same way."""
        return [list(self.text_to_video(r)) for r in reqs]

    def character_boxes(self, req: ShotRequest) -> list[dict[str, IntBox]]:
        """Per frame, each visible character's (x0, y0, x1, y1) in output pixels."""
        shot = ShotRender(req)
        return [shot.boxes(i) for i in range(req.num_frames)]

    @staticmethod
    def character_signature(char_id: str, description: str) -> np.ndarray:
        """(k, 3) uint8 main colours of the character's figure, body colour first."""
        return _signature(char_id, description)
