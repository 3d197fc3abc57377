"""Views of traces, pure functions: Plotly figures by page area (`figures`), the step
equations with numbers (`equations`), generated Keras code (`codegen`, `keras2`), exports
(`export`), the share-link format (`urlstate`) and the presets (`presets`)."""
