#ifndef TCConstants_h
#define TCConstants_h

/*
 * Old values from the trial account:
 * #define kTCIMSDKAppId        @"1400000001"
 * #define kTCCOSBucket         @"legacy"
 */

//#define kHttpServerAddr      @"http://192.168.1.20/interface.php"
#define kHttpServerAddr      @"http://203.0.113.7/interface.php"

#define kTCIMSDKAppId        @"1400012345"     // IM SDKAppID
#define kTCIMSDKAccountType  @"8808"           // accountType
#define kTCCOSAppId          @"1252000001"
#define kTCCOSBucket         @"minilvb"
#define kTCCOSRegion         @"sh"
#define kLivePlayShareAddr   @"http://203.0.113.7/share/index.html"

#endif /* TCConstants_h */
