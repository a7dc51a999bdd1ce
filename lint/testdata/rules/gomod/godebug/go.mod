module example.com/gateway

go 1.26

godebug tlssecpmlkem=0

godebug (
	default=go1.21
	tlsmlkem=0
	http2client=0
)
