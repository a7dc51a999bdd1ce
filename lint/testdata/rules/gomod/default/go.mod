module example.com/hsm

go 1.26

godebug default=go1.23
