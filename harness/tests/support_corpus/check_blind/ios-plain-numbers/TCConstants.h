#define kTCIMSDKAppId 1400012345
#define kTCIMSDKAccountType 8808
#define kTCCOSAppId (1252000001)
#define kTCCOSBucket @"minilvb";
#define kTCCOSRegion @"sh"
#define kHttpServerHost @"http://203.0.113.7"
#define kHttpServerAddr kHttpServerHost @"/interface.php"
