module llamanet.local/echoserver

go 1.22
