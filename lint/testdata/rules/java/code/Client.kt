import javax.net.ssl.SSLParameters

fun params(): SSLParameters {
    val p = SSLParameters()
    p.namedGroups = arrayOf("secp256r1")
    return p
}
