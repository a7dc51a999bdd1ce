module example.com/signer

go 1.26

