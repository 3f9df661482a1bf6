"""Table files (CSV, TSV, Excel, JSON Lines, Parquet) read as text columns and written back.

``table_io`` is the entry (``read_table``, ``write_table``); ``detect`` finds the
format, encoding and delimiter; ``formats`` reads and writes the binary formats;
``columns`` guesses which column holds the text and which the label.
"""
