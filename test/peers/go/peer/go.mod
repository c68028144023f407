module dropipc-peer-go

go 1.19
