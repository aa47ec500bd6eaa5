package com.tencent.qcloud.xiaozhibo.common.utils;

import com.tencent.cos.common.COSEndPoint;

/**
 * 静态函数
 */
public class TCConstants {

    //云通信服务相关配置
    public static final int IMSDK_APPID = 1400012345;
    public static final int IMSDK_ACCOUNT_TYPE = 8808;

    // COS 存储
    public static final String COS_APPID = "1252000001";
    public static final String COS_BUCKET = "minilvb";
    public static final COSEndPoint COS_REGION = COSEndPoint.COS_SH;

    //小直播业务服务器地址
    public static final String SVR_POST_URL = "http://203.0.113.7/interface.php";

    // bugly
    public static final String BUGLY_APPID = "";

    public static final int PLAY_STATUS_SUCCESS = 0;
    public static final String USER_INFO = "user_info";
}
