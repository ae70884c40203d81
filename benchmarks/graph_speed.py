"""Speed of `modelscope graph` on a large model, as a ratio against keras.utils.plot_model.

Target (issue #3): EfficientNetB7 (816 layers, weights=None) renders to SVG with system Graphviz
in under 2x the time keras.utils.plot_model takes for the same model (pydot installed). Both
sides include their own graph building and the `dot` run; the model is built once beforehand.
Also prints how long a `--depth 1` graph of a hybrid with hundreds of layers takes.

Run: python benchmarks/graph_speed.py [--repeat 2]   (needs: apt-get install graphviz; pip install pydot)
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from modelscope._keras import import_keras

    keras = import_keras()
    import modelscope
    from modelscope.render.graphviz import render_graph, system_dot

    if not system_dot():
        raise SystemExit("system Graphviz is needed for this comparison: apt-get install graphviz")
    model = keras.applications.EfficientNetB7(weights=None)
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            start = time.perf_counter()
            # plot_model's defaults: show_shapes=True makes dot 2.43 abort on this model. The file is
            # written before IPython (when installed) raises ValueError: it cannot display SVG files.
            with contextlib.suppress(ValueError):
                keras.utils.plot_model(model, to_file=str(Path(tmp) / "keras.svg"))
            theirs.append(time.perf_counter() - start)
            start = time.perf_counter()
            svg = render_graph(modelscope.inspect(model).to_dot(), "svg")
            ours.append(time.perf_counter() - start)
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"EfficientNetB7 SVG: modelscope {statistics.median(ours):.2f}s ({len(svg):,} bytes), "
          f"plot_model {statistics.median(theirs):.2f}s -> ratio {ratio:.2f} (target < 2.00)")  # fmt: skip

    inputs = keras.Input((224, 224, 3))
    backbone = keras.applications.ResNet50(weights=None, include_top=False)

    class Hybrid(keras.Model):  # a subclass around a 175-layer backbone and a head Sequential
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone
            self.head = keras.Sequential([keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])

        def call(self, x):
            return self.head(self.backbone(x))

    hybrid = Hybrid()
    hybrid(inputs)
    start = time.perf_counter()
    report = modelscope.inspect(hybrid, (None, 224, 224, 3))
    svg = render_graph(report.to_dot(depth=1), "svg")
    nodes = svg.count(b'class="node"')
    print(f"hybrid with {len(report.layers)} layers, --depth 1: {time.perf_counter() - start:.2f}s, "
          f"{nodes} nodes drawn")  # fmt: skip


if __name__ == "__main__":
    main()
