#!/bin/sh
# Start the ledger service.
exec java -Djdk.tls.namedGroups="x25519,secp256r1" -jar /opt/ledger.jar "$@"
