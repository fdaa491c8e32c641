"""Package layout for the build backend (metadata lives in pyproject.toml).

The repository keeps its top-level folders (harness/, detectors/, policies/, seeds/); installed,
they live under one distinctive import namespace: stopbox.harness, stopbox.detectors,
stopbox.policies, stopbox.seeds. Every sub-folder is a package so that its data files ship.
"""

from setuptools import find_namespace_packages, setup

ROOTS = ("harness", "detectors", "policies", "seeds")

packages: list[str] = []
package_dir: dict[str, str] = {}
for root in ROOTS:
    package_dir[f"stopbox.{root}"] = root
    packages.append(f"stopbox.{root}")
    packages += [
        f"stopbox.{root}.{sub}"
        for sub in find_namespace_packages(root, exclude=["*__pycache__*", "__pycache__"])
    ]

setup(packages=packages, package_dir=package_dir)
