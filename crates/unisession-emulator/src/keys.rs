//! Key pairs of the emulators' service applications (Okta's `private_key_jwt`,
//! Google's service account, Entra's certificate). They exist to test that signed
//! assertions are really verified; they protect nothing and must never be trusted
//! anywhere else.

/// An RSA 2048 private key (PKCS #8 PEM): signs RS256 assertions.
pub const RSA_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDgE1e6gmrbaMRA\n\
tzgAznNQC1svzJO1xMxXneCUCOhFGVGZ6junm//ns5r8CoeS3FAbocsfbdD6C3hP\n\
WdG9R22MqonMmIyahzvfwEbHt8LfiOdac+uayri/mRXnxl2RV/+v/h5mU+oy+NvM\n\
xuQjChb24cX2A/FCeLV+4VdFpufOOA+0tGkPOt08Ex2BwgqV43elNLDNO4uIp85K\n\
1CU9oX8rWjYq8h7VzawOWsiX+1AaGd7AN4WHhyoU4QkM47RjKKHwwopSpZ38ffTE\n\
oGTJ93MCtVf9e20CFX/Adw5HY/1M91NSaP/MGGyG6zHd/4BMRN4kDpOzROJX590m\n\
XxQ1IxKXAgMBAAECggEAZM3u2pYPUnOYTnDefeZik/D37dH/5XcKYqRAwvga3fMc\n\
9bwdaDLS9j6ji52FDjmUxEmOIq55o/ODBVen9pnqm6yg320FXANYmTlb3j86KOvj\n\
AJtDs9hdMrzA0Qs5Tsii217b+DbqFlJEN6SGP4kreZdqQlnVsIyzQchIRapngCp6\n\
m+fOAD51TovIkFlPZhBwmboc3MYYNR7W/ZWhsWIVXNZai6t3fj946SH35O9Aqsuq\n\
DkUjn2XI8lRU/U/3eVoBywBnog6BUkDUaChYG509Bx1HsTYNHdUCxJ+d57S09IlB\n\
+nem58E/vGvpO69BQebOd19DPi6yBCgvlxBwPUGQkQKBgQD6FHMj3VdPZuq/cs0q\n\
82OSLPMFCfuUdLFNzT6zK4gJvUSdw/1UMr5BiyJzEiBiJrV307CJXPnZtkQZvQ67\n\
Pq0cHGlIlC6hxruhWVKzSVhYgpDiJICwFOA2m4pDapjRzxgmamugY/MT/WLviHtq\n\
EeP+87o5pWJKEb0+5X8o32CyKQKBgQDlYUzCOHU5Mx++iKQJjYpRn5WNUABNQSy5\n\
4Z1nzHJUw+9ynRplZWBve5AO0XuKtnGMonfycgApHOXcPQrYHlA8pjtP+uWleB8o\n\
j2Re+J38jMg7RJtp24335p8O0j9IELLuZCaWZrY7+1fPpyPsZpvgyyhrVpIgxYs8\n\
XAR0X022vwKBgQC3hRZR9XbDQEV5JWhG4sHpXa8hvYewFEqhS8N9fK6iZxDZriBU\n\
D8DrHI21YFH/dWSqgOEGjQKVsFodgU40PvSOspLYvlXSRqMe7wvvoh2BJp/oNN1z\n\
Wn6H1HEMtEddgNq6JlLBK1gRDVvzaHcZCfQE/xtkfme473evln9QoUy2sQKBgAHw\n\
Yp+5rnP/VKNdsFVMVwD9olwBcx80D9a6a4Q3HDhPN7T2UwTMaJZIqx0U9EBl7mvL\n\
68um3w156w+DjJXrG66HkTTJ4CsX6tuC6sxKubsqzX6Cw/WPH5Ia5vlPGa3YRkrx\n\
mcnnsF6tbz6YIRucenDaBstxfea9BMJL3NXHAHctAoGBAJDhu0sIp5bz17RKpf27\n\
5CV6q1pfbXjSnhtg1Ou+J3L6rtCF0Jhg0IHvvM2cGCoNGh0N7By5OK8Ov+OMXyzn\n\
sJYuOwwCEdQlgnILerBey7ELaSiZJO855mtNhY8mNNZ/eal6r8n0YRbIj0c5l+JT\n\
Q1aZs76BvElVtIm/V3p8VNKU\n\
-----END PRIVATE KEY-----\n";

/// Its public key (SPKI PEM).
pub(crate) const RSA_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA4BNXuoJq22jEQLc4AM5z\n\
UAtbL8yTtcTMV53glAjoRRlRmeo7p5v/57Oa/AqHktxQG6HLH23Q+gt4T1nRvUdt\n\
jKqJzJiMmoc738BGx7fC34jnWnPrmsq4v5kV58ZdkVf/r/4eZlPqMvjbzMbkIwoW\n\
9uHF9gPxQni1fuFXRabnzjgPtLRpDzrdPBMdgcIKleN3pTSwzTuLiKfOStQlPaF/\n\
K1o2KvIe1c2sDlrIl/tQGhnewDeFh4cqFOEJDOO0Yyih8MKKUqWd/H30xKBkyfdz\n\
ArVX/XttAhV/wHcOR2P9TPdTUmj/zBhshusx3f+ATETeJA6Ts0TiV+fdJl8UNSMS\n\
lwIDAQAB\n\
-----END PUBLIC KEY-----\n";

/// A P-256 private key (PKCS #8 PEM): signs ES256 assertions.
pub const EC_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgpFdQj8ZQ8cjb/ZZX\n\
04rxsnUJ3Jyakve5TcyjCX7Xq/ehRANCAASTvj2d3BpmjyU74Ch7AHasMZ7tw596\n\
uEDkl3jzefskz3iyK1oG5EtlS9KKtQVrPS1ZoxFnlOvuVSsl6eYrlM/l\n\
-----END PRIVATE KEY-----\n";

/// Its public key (SPKI PEM).
pub(crate) const EC_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----\n\
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEk749ndwaZo8lO+AoewB2rDGe7cOf\n\
erhA5Jd483n7JM94sitaBuRLZUvSirUFaz0tWaMRZ5Tr7lUrJenmK5TP5Q==\n\
-----END PUBLIC KEY-----\n";

/// A P-256 private key no emulator knows: assertions it signs are refused.
pub const UNKNOWN_EC_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2rXGAMAKpSmu1cWp\n\
ki5sMBU7DR8D+uJxbpZ++NIO2W+hRANCAARk8conbI9Ghcao6jxgY19lNg7+G1kJ\n\
CIKOWQ2xoEivzp7jGKZUFx+nXNxqK45VYQyLDMqqLRxE893unTh8qx49\n\
-----END PRIVATE KEY-----\n";
