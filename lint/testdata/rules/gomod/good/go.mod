module example.com/good

// go 1.21 was the old line
go 1.26.0

toolchain go1.26.8

godebug tlsmlkem=1
