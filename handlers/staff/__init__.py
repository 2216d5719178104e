"""Staff in WeChat: binding a console account (绑定后台) and the alerts bound staff receive."""
