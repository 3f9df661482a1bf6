#!/bin/sh
# /usr/bin/taxon: start the Taxon bundle installed in /usr/lib/taxon.
exec /usr/lib/taxon/Taxon "$@"
