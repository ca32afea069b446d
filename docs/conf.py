"""Sphinx configuration of the sklfi documentation."""

import os
import warnings

import sklfi

project = "sklfi"
author = "the sklfi developers"
copyright = "2026, the sklfi developers"
release = version = sklfi.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}


def _skip_foreign(app, what, name, obj, skip, options):
    """Document sklfi's own members only, not those sklearn, skorch or torch
    classes contribute (their docstrings refer to their own sites)."""
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] in ("sklearn", "skorch", "torch"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign)


numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

exclude_patterns = [
    "_build",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
    "auto_examples/*.md5",
]

intersphinx_mapping = {}  # no network at build time: plain links only

# The gallery runs on MovieLens-100K: $SKLFI_DATA, else ~/sklfi_data.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
}

html_theme = "pydata_sphinx_theme"
html_title = "sklfi"
html_theme_options = {"navigation_with_keys": False, "show_prev_next": False}
html_static_path = []
templates_path = ["_templates"]

warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib")
os.environ.setdefault("MPLBACKEND", "Agg")
