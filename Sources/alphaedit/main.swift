print("alphaedit")
