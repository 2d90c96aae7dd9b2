"""Write datasets/*.csv from the copies scikit-learn bundles (run once; the CSVs are committed).

    pip install scikit-learn && python tools/make_datasets.py

scikit-learn is only needed to regenerate the files, never to use them.  Values are written exactly as
scikit-learn holds them (repr of each float, integers as integers).
"""
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "datasets"


def write(name: str, header: list[str], x: np.ndarray, y, integer_features: bool = False) -> None:
    lines = [",".join(header)]
    for row, target in zip(x, y):
        cells = [str(int(v)) if integer_features else repr(float(v)) for v in row]
        lines.append(",".join(cells + [str(target)]))
    (OUT / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{name}.csv: {len(x)} rows, {len(header)} columns")


def main() -> None:
    from sklearn import datasets

    digits = datasets.load_digits()
    write("digits", [f"pixel_{r}_{c}" for r in range(8) for c in range(8)] + ["digit"],
          digits.data, digits.target, integer_features=True)
    diabetes = datasets.load_diabetes(scaled=False)
    write("diabetes", list(diabetes.feature_names) + ["progression"], diabetes.data,
          [repr(float(v)) for v in diabetes.target])
    iris = datasets.load_iris()
    write("iris", ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"], iris.data,
          [iris.target_names[t] for t in iris.target])


if __name__ == "__main__":
    main()
