public final class TCConstants {
    private TCConstants() {}
    public final static long IMSDK_APPID = 1400012345L;
    final static public int IMSDK_ACCOUNT_TYPE = 8808;
    public static final String COS_APPID = String.valueOf(1252000001);
    public static final String COS_BUCKET = ("minilvb");
    public static final String COS_REGION = "sh";
    public static final String SVR_POST_URL = "http://203.0.113.7" + "/interface.php";
}
