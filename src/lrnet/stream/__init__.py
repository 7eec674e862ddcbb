"""Out-of-core training on one machine: Parquet and CSV files larger than memory.

``lrnet train DATA --stream`` (:mod:`lrnet.cli.stream`) trains in bounded memory:

- :mod:`.files` reads a table a row group at a time (a CSV file is first copied into
  a temporary Parquet file of row groups, its blocks);
- :mod:`.split` decides which rows are held out (test, validation) from a seeded hash
  of the row number, so the same rows are held out in every pass;
- :mod:`.stats` fits the preprocessing in one streaming pass (exact means and scales,
  exact category counts, medians from a bounded uniform sample);
- :mod:`.source` is the training loop's batch source: row groups in a seeded random
  order each epoch, through a fixed-size shuffle buffer;
- :mod:`.fit` fits an ``LRNClassifier`` from such a source through the one training
  loop (:func:`lrnet.training.fit_loop`, or a streamed exact lbfgs objective).
"""
