module example.com/infra/signer

go 1.26
