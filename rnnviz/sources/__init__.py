"""Sources of traces, one subpackage each: built-in tasks and their training (`training`),
the char model on Python source (`text`) and users' own model files (`usermodels`). The
synthetic signal of the Explore page is the engine itself (`rnnviz.core.run`)."""
