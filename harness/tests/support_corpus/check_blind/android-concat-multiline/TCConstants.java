package com.example.live;

import com.tencent.cos.common.COSEndPoint;

public class TCConstants {
    private static final String SERVER_HOST = "http://203.0.113.7";

    public static final String SVR_POST_URL =
            SERVER_HOST + "/interface.php";

    public static final int IMSDK_APPID =
            1400012345;
    public static final int IMSDK_ACCOUNT_TYPE = 8808; // from the IM console

    public static final String COS_APPID = "125200" + "0001";
    public static final String COS_BUCKET = "minilvb"; /* COS v4 bucket */
    public static final COSEndPoint COS_REGION = COSEndPoint.COS_SH;
}
